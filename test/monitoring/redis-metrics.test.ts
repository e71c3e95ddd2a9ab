/**
 * The exporter over a shared Redis store: gauges report the fleet's state (what another process
 * did), and the store's own health (latency, errors by cause, guard breaker) is measured.
 */
import { CircuitBreaker } from '@breakwater/core';
import { collectMetrics, collectStoreMetrics, errorTypeOf, METRIC_NAMES } from '@breakwater/prometheus';
import { RedisStore } from '@breakwater/store-redis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Exposition, find, parseExposition, sampleValue } from '../support/prometheus-text.js';
import { type RedisServer, startRedis, stopAll } from '../support/redis-harness.js';

let server: RedisServer;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(stopAll);

const scrape = async (register: Registry): Promise<Exposition> => parseExposition(await register.metrics());

/** A "process": its own client and store, with the given key prefix. */
function processOn(keyPrefix: string, options: { commandTimeout?: number } = {}) {
  const client = server.client();
  const store = new RedisStore({ client, keyPrefix, commandTimeout: options.commandTimeout ?? 1_000 });
  cleanups.push(async () => {
    await store.close();
    client.disconnect();
  });
  return store;
}

describe('metrics over a RedisStore', () => {
  it('reports the fleet’s state: a breaker opened by another process shows OPEN here', async () => {
    const a = processOn('fleet1');
    const b = processOn('fleet1');
    const config = { slidingWindowSize: 2, minimumNumberOfCalls: 2 };
    const onA = CircuitBreaker.of('checkout', config, { store: a });
    const onB = CircuitBreaker.of('checkout', config, { store: b });
    cleanups.push(() => {
      onA.close();
      onB.close();
    });
    const register = new Registry();
    const handle = collectMetrics(onB, { register });
    cleanups.push(() => handle.close());

    // process A sees two failures; process B makes no call at all
    for (let i = 0; i < 2; i++) await onA.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    expect(await onA.getState()).toBe('OPEN');

    const m = await scrape(register);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerState, { name: 'checkout', state: 'open' })).toBe(1);
    expect(sampleValue(m, METRIC_NAMES.circuitBreakerFailureRate, { name: 'checkout' })).toBe(100);
    expect(
      sampleValue(m, METRIC_NAMES.circuitBreakerBufferedCalls, { name: 'checkout', kind: 'failed' }),
    ).toBe(2);
    // call counts are this process's own: B made none
    expect(sampleValue(m, `${METRIC_NAMES.circuitBreakerCalls}_count`, { kind: 'failed' })).toBe(0);
  });

  it('times the store’s round trips and reports the guard closed while Redis answers', async () => {
    const store = processOn('timing');
    const register = new Registry();
    const handle = collectStoreMetrics(store, { register });
    cleanups.push(() => handle.close());
    const onStore = CircuitBreaker.of('timed', {}, { store });
    cleanups.push(() => onStore.close());
    for (let i = 0; i < 5; i++) await onStore.execute(() => 'ok');

    const m = await scrape(register);
    expect(m.types.get(METRIC_NAMES.storeOperationDuration)).toBe('histogram');
    const count = sampleValue(m, `${METRIC_NAMES.storeOperationDuration}_count`, {
      operation: 'breakwaterBreaker',
    });
    expect(count).toBeGreaterThanOrEqual(1);
    const sum = sampleValue(m, `${METRIC_NAMES.storeOperationDuration}_sum`, {
      operation: 'breakwaterBreaker',
    });
    expect(sum).toBeGreaterThan(0);
    expect(sum / count).toBeLessThan(0.5);
    expect(sampleValue(m, METRIC_NAMES.storeGuardState)).toBe(0);
    // every error type is there from the start, at 0
    for (const type of ['timeout', 'connection', 'guard_open', 'reply', 'state_reset']) {
      expect(sampleValue(m, METRIC_NAMES.storeErrors, { type })).toBe(0);
    }
  });

  it('counts timeouts, then guard refusals, and reports the guard OPEN while Redis hangs', async () => {
    const store = processOn('outage', { commandTimeout: 50 });
    const register = new Registry();
    const handle = collectStoreMetrics(store, { register });
    cleanups.push(() => handle.close());
    const cb = CircuitBreaker.of('fragile', {}, { store });
    cleanups.push(() => cb.close());
    await cb.execute(() => 'ok'); // connected

    await server.pause();
    try {
      // the default guard opens after 3 failures in a row; calls go on under the 'local' policy
      for (let i = 0; i < 5; i++) await cb.execute(() => 'ok');
      const m = await scrape(register);
      expect(sampleValue(m, METRIC_NAMES.storeErrors, { type: 'timeout' })).toBeGreaterThanOrEqual(3);
      expect(sampleValue(m, METRIC_NAMES.storeErrors, { type: 'guard_open' })).toBeGreaterThanOrEqual(1);
      expect(sampleValue(m, METRIC_NAMES.storeGuardState)).toBe(2);
      // timeouts are latencies too (they hit the backend); refusals are not
      const buckets = find(m, `${METRIC_NAMES.storeOperationDuration}_bucket`, { le: '0.025' });
      const total = sampleValue(m, `${METRIC_NAMES.storeOperationDuration}_count`, {
        operation: 'breakwaterBreaker',
      });
      expect(total - buckets[0].value).toBeGreaterThanOrEqual(3);
    } finally {
      await server.resume();
    }
  });

  it('counts a key that held garbage as a state_reset error', async () => {
    const store = processOn('garbage');
    const register = new Registry();
    const handle = collectStoreMetrics(store, { register });
    cleanups.push(() => handle.close());
    const client = server.client();
    cleanups.push(() => client.disconnect());
    await client.set('garbage:{cb:mangled}:state', 'not json at all');
    const cb = CircuitBreaker.of('mangled', {}, { store });
    cleanups.push(() => cb.close());
    await cb.execute(() => 'ok');
    expect(sampleValue(await scrape(register), METRIC_NAMES.storeErrors, { type: 'state_reset' })).toBe(1);
  });
});

describe('errorTypeOf', () => {
  it('sorts store errors by cause', () => {
    const withName = (name: string, message = '', cause?: unknown) =>
      Object.assign(new Error(message), { name, cause });
    expect(errorTypeOf(withName('CallNotPermittedError'))).toBe('guard_open');
    expect(errorTypeOf(withName('StoreUnavailableError', 'Redis did not answer within 100 ms'))).toBe(
      'timeout',
    );
    expect(errorTypeOf(withName('StoreUnavailableError', 'Redis connection is reconnecting'))).toBe(
      'connection',
    );
    expect(errorTypeOf(withName('StoreUnavailableError', 'x', withName('ReplyError', 'OOM')))).toBe('reply');
    // RedisStore's errors say why
    const because = (reason: string) => Object.assign(withName('StoreUnavailableError', 'x'), { reason });
    expect(errorTypeOf(because('guard_open'))).toBe('guard_open');
    expect(errorTypeOf(because('timeout'))).toBe('timeout');
    expect(errorTypeOf(because('connection'))).toBe('connection');
    expect(errorTypeOf(because('reply'))).toBe('reply');
    expect(errorTypeOf(new Error('something else'))).toBe('other');
    expect(errorTypeOf(undefined)).toBe('other');
  });
});
