import { Cache } from '@breakwater/cache';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { collectCacheMetrics } from './cache-metrics.js';
import { METRIC_NAMES } from './names.js';

async function value(register: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await register.getMetricsAsJSON()).find((m) => m.name === name);
  const matching = (metric?.values ?? []).filter((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return Number(matching[0]?.value ?? Number.NaN);
}

const caches: Cache<unknown>[] = [];
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
});

describe('collectCacheMetrics', () => {
  it('reports hits and misses per tier, loads by outcome with their latency, stale answers, and the breaker', async () => {
    const register = new Registry();
    const users = Cache.of<string>('users', { ttlMs: 60_000 });
    caches.push(users as Cache<unknown>);
    const handle = collectCacheMetrics(users, { register });
    // every series is there from the start, at 0
    expect(await value(register, METRIC_NAMES.cacheHits, { name: 'users', tier: 'l1' })).toBe(0);
    expect(await value(register, METRIC_NAMES.cacheL2Errors, { name: 'users', type: 'timeout' })).toBe(0);

    await users.get('a', async () => 'A');
    await users.get('a', async () => 'A');
    await users.get('a', async () => 'A');
    await users.get('b', () => Promise.reject(new Error('db down'))).catch(() => undefined);

    expect(await value(register, METRIC_NAMES.cacheHits, { name: 'users', tier: 'l1' })).toBe(2);
    expect(await value(register, METRIC_NAMES.cacheMisses, { name: 'users', tier: 'l1' })).toBe(2);
    expect(await value(register, METRIC_NAMES.cacheEntries, { name: 'users', tier: 'l1' })).toBe(1);
    const text = await register.metrics();
    expect(text).toContain(`${METRIC_NAMES.cacheLoaderDuration}_count{name="users",kind="successful"} 1`);
    expect(text).toContain(`${METRIC_NAMES.cacheLoaderDuration}_count{name="users",kind="failed"} 1`);
    // the guard breaker of the shared tier, with the breakers' metrics
    expect(text).toContain('resilience4j_circuitbreaker_state{name="cache:users",state="closed"} 1');

    handle.close();
    expect((await register.metrics()).trim()).toBe('');
  });

  it('two caches of one name add up; closing one handle keeps the other’s series', async () => {
    const register = new Registry();
    const a = Cache.of<string>('shared', { ttlMs: 60_000 });
    const b = Cache.of<string>('shared', { ttlMs: 60_000 });
    caches.push(a as Cache<unknown>, b as Cache<unknown>);
    const first = collectCacheMetrics(a, { register });
    const second = collectCacheMetrics(b, { register });
    await a.get('k', async () => 'v');
    await a.get('k', async () => 'v');
    await b.get('k', async () => 'v');
    await b.get('k', async () => 'v');
    expect(await value(register, METRIC_NAMES.cacheHits, { name: 'shared', tier: 'l1' })).toBe(2);
    first.close();
    expect(await value(register, METRIC_NAMES.cacheHits, { name: 'shared', tier: 'l1' })).toBe(1);
    second.close();
  });

  it('refuses what is not a cache', () => {
    expect(() => collectCacheMetrics({} as never, { register: new Registry() })).toThrow(/is not a Cache/);
  });
});
