import { CircuitBreaker, CircuitBreakerRegistry, Retry } from '@breakwater/core';
import { collectMetrics, METRIC_NAMES } from '@breakwater/prometheus';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { exerciseEveryPolicy, finishExercise } from '../support/metrics-fixture.js';
import { type Exposition, find, parseExposition, sampleValue } from '../support/prometheus-text.js';

const scrape = async (register: Registry): Promise<Exposition> => parseExposition(await register.metrics());
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('collectMetrics: a scrape of every policy kind', () => {
  it('reports every policy with Resilience4j names, labels and values', async () => {
    const register = new Registry();
    const policies = await exerciseEveryPolicy(register);
    cleanups.push(() => finishExercise(policies));
    const m = await scrape(register);

    // breaker state: one series per state, 1 for the current one (lower-case, as Micrometer has it)
    expect(find(m, METRIC_NAMES.circuitBreakerState, { name: 'inventory' })).toHaveLength(6);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerState, { name: 'inventory', state: 'open' })).toBe(1);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerState, { name: 'inventory', state: 'closed' })).toBe(0);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerState, { name: 'payments', state: 'closed' })).toBe(1);

    // window gauges
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerFailureRate, { name: 'inventory' })).toBe(50);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerFailureRate, { name: 'payments' })).toBe(-1);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerSlowCallRate, { name: 'inventory' })).toBe(0);
    expect(
      sampleValue(m, METRIC_NAMES.circuitBreakerBufferedCalls, { name: 'inventory', kind: 'successful' }),
    ).toBe(2);
    expect(
      sampleValue(m, METRIC_NAMES.circuitBreakerBufferedCalls, { name: 'inventory', kind: 'failed' }),
    ).toBe(2);

    // call histogram, from events: 2 successful, 2 failed, 1 ignored; the refused call is not a call
    const count = `${METRIC_NAMES.circuitBreakerCalls}_count`;
    expect(m.types.get(METRIC_NAMES.circuitBreakerCalls)).toBe('histogram');
    expect(sampleValue(m, count, { name: 'inventory', kind: 'successful' })).toBe(2);
    expect(sampleValue(m, count, { name: 'inventory', kind: 'failed' })).toBe(2);
    expect(sampleValue(m, count, { name: 'inventory', kind: 'ignored' })).toBe(1);
    expect(
      find(m, `${METRIC_NAMES.circuitBreakerCalls}_bucket`, { name: 'inventory', le: '+Inf' }),
    ).toHaveLength(3);
    // a breaker with no calls yet has its series at 0, so rate() sees its first calls
    expect(sampleValue(m, count, { name: 'payments', kind: 'successful' })).toBe(0);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerNotPermittedCalls, { name: 'inventory' })).toBe(1);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerNotPermittedCalls, { name: 'payments' })).toBe(0);

    // retry: one success at once, one after a retry, one failure after the retry
    const retry = (kind: string) => sampleValue(m, METRIC_NAMES.retryCalls, { name: 'inventory', kind });
    expect(retry('successful_without_retry')).toBe(1);
    expect(retry('successful_with_retry')).toBe(1);
    expect(retry('failed_with_retry')).toBe(1);
    expect(retry('failed_without_retry')).toBe(0);
    expect(m.types.get(METRIC_NAMES.retryCalls)).toBe('counter');

    // time limiter
    const tl = (kind: string) => sampleValue(m, METRIC_NAMES.timeLimiterCalls, { name: 'inventory', kind });
    expect([tl('successful'), tl('failed'), tl('timeout')]).toEqual([1, 1, 1]);

    // rate limiter: 5 per period, 2 used; bulkhead: 3 slots, 1 held
    expect(sampleValue(m, METRIC_NAMES.rateLimiterAvailablePermissions, { name: 'inventory' })).toBe(3);
    expect(sampleValue(m, METRIC_NAMES.bulkheadAvailableConcurrentCalls, { name: 'inventory' })).toBe(2);
    expect(sampleValue(m, METRIC_NAMES.bulkheadMaxAllowedConcurrentCalls, { name: 'inventory' })).toBe(3);
  });

  it('reads gauges at scrape time: a transition shows on the next scrape', async () => {
    const register = new Registry();
    const cb = CircuitBreaker.ofDefaults('orders');
    const handle = collectMetrics(cb, { register });
    cleanups.push(() => handle.close());
    expect(sampleValue(await scrape(register), METRIC_NAMES.circuitBreakerState, { state: 'closed' })).toBe(
      1,
    );
    await cb.transitionToForcedOpenState();
    const m = await scrape(register);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerState, { state: 'forced_open' })).toBe(1);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerState, { state: 'closed' })).toBe(0);
  });

  it('follows a registry: breakers added later appear, removed ones disappear', async () => {
    const register = new Registry();
    const registry = CircuitBreakerRegistry.ofDefaults();
    const handle = collectMetrics(registry, { register });
    cleanups.push(() => handle.close());
    expect(find(await scrape(register), METRIC_NAMES.circuitBreakerState)).toHaveLength(0);

    registry.circuitBreaker('a');
    registry.circuitBreaker('b');
    let m = await scrape(register);
    expect(new Set(find(m, METRIC_NAMES.circuitBreakerState).map((s) => s.labels.name))).toEqual(
      new Set(['a', 'b']),
    );

    registry.remove('a');
    m = await scrape(register);
    expect(find(m, METRIC_NAMES.circuitBreakerState, { name: 'a' })).toHaveLength(0);
    expect(find(m, `${METRIC_NAMES.circuitBreakerCalls}_count`, { name: 'a' })).toHaveLength(0);
    expect(find(m, METRIC_NAMES.circuitBreakerNotPermittedCalls, { name: 'a' })).toHaveLength(0);
    expect(find(m, METRIC_NAMES.circuitBreakerState, { name: 'b' })).toHaveLength(6);
  });

  it('counts a policy followed by two handles once, and close() lets go of exactly its own', async () => {
    const register = new Registry();
    const cb = CircuitBreaker.ofDefaults('shared');
    const retry = Retry.ofDefaults('only-second');
    const first = collectMetrics(cb, { register });
    const second = collectMetrics([cb, retry], { register });
    await cb.execute(() => 'ok');
    let m = await scrape(register);
    expect(sampleValue(m, `${METRIC_NAMES.circuitBreakerCalls}_count`, { kind: 'successful' })).toBe(1);
    expect(find(m, METRIC_NAMES.retryCalls, { name: 'only-second' })).toHaveLength(4);

    second.close();
    second.close(); // harmless
    await cb.execute(() => 'ok');
    m = await scrape(register);
    expect(sampleValue(m, `${METRIC_NAMES.circuitBreakerCalls}_count`, { kind: 'successful' })).toBe(2);
    expect(find(m, METRIC_NAMES.retryCalls)).toHaveLength(0);

    first.close();
    expect(register.getSingleMetric(METRIC_NAMES.circuitBreakerState)).toBeUndefined();
    expect((await register.metrics()).trim()).toBe('');
    // nothing listens any more: the breaker builds no events
    const again = collectMetrics(cb, { register });
    again.close();
  });

  it('leaves the call path alone for policies it reads at scrape time', async () => {
    const register = new Registry();
    const retry = Retry.ofDefaults('quiet');
    const handle = collectMetrics(retry, { register });
    cleanups.push(() => handle.close());
    // retries are counted from the policy's own counters: no event listener, so no event objects per call
    const publisher = (retry as unknown as { publisher: { hasListeners: boolean } }).publisher;
    expect(publisher.hasListeners).toBe(false);
    await retry.execute(() => 'ok');
    expect(
      sampleValue(await scrape(register), METRIC_NAMES.retryCalls, { kind: 'successful_without_retry' }),
    ).toBe(1);
  });

  it('rejects what is not a policy or a registry, naming it', () => {
    const register = new Registry();
    expect(() => collectMetrics({} as unknown as CircuitBreaker, { register })).toThrow(
      /not a Breakwater policy/,
    );
    expect(register.getMetricsAsArray()).toHaveLength(0);
  });

  it('registers on prom-client’s global registry by default', async () => {
    const { register } = await import('prom-client');
    const handle = collectMetrics(CircuitBreaker.ofDefaults('global'));
    cleanups.push(() => handle.close());
    expect(handle.register).toBe(register);
    expect(await register.metrics()).toContain(
      'resilience4j_circuitbreaker_state{name="global",state="closed"} 1',
    );
  });
});
