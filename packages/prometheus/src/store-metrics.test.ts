import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from './names.js';
import { collectStoreMetrics } from './store-metrics.js';

type StoreEventLike = { readonly type: string; readonly count?: number; readonly reason?: string };

/** A store that only has events, fed by hand. */
function fakeStore() {
  const listeners = new Set<(e: StoreEventLike) => void>();
  return {
    emit: (e: StoreEventLike) => {
      for (const l of listeners) l(e);
    },
    onEvent(listener: (e: StoreEventLike) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

async function value(register: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await register.getMetricsAsJSON()).find((m) => m.name === name);
  const sample = (metric?.values ?? []).find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return Number(sample?.value ?? Number.NaN);
}

describe('collectStoreMetrics, from store events', () => {
  it('counts dropped outcomes by reason, and a policy failure as an error of type policy', async () => {
    const register = new Registry();
    const store = fakeStore();
    const handle = collectStoreMetrics(store, { register });
    expect(await value(register, METRIC_NAMES.storeOutcomesDropped, { reason: 'unknown' })).toBe(0);
    store.emit({ type: 'OUTCOMES_DROPPED', count: 3, reason: 'unknown' });
    store.emit({ type: 'OUTCOMES_DROPPED', count: 2, reason: 'unknown' });
    store.emit({ type: 'OUTCOMES_DROPPED', count: 7, reason: 'allow' });
    store.emit({ type: 'POLICY_FAILURE' });
    expect(await value(register, METRIC_NAMES.storeOutcomesDropped, { reason: 'unknown' })).toBe(5);
    expect(await value(register, METRIC_NAMES.storeOutcomesDropped, { reason: 'allow' })).toBe(7);
    expect(await value(register, METRIC_NAMES.storeErrors, { type: 'policy' })).toBe(1);
    handle.close();
  });
});
