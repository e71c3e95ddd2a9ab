/**
 * What the adapter adds to opossum's API: the Breakwater breaker underneath (`getBreakwater()`:
 * its state, metrics, events, Prometheus metrics, manual transitions an operator makes), the
 * `store` option (two breakers of one name on one MemoryStore are one breaker), the `breakwater`
 * option (slow-call detection), and the checks of the options. Every scenario of opossum's rules
 * also runs on the path through Breakwater's `execute` (a store given, or the breaker handed out),
 * which must decide exactly as the in-process path does.
 */
import { ConfigError } from '@breakwater/core';
import { collectMetrics } from '@breakwater/prometheus';
import { MemoryStore } from '@breakwater/store-memory';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { deferred } from '../../../test/support/promises.js';
import type CircuitBreaker from './index.js';
import { breaker, DownstreamError, double, fireMany, namesOf, record } from './opossum.test-support.js';
import { elapse, fakeClock, nextTurn, useFakeTime } from './time.test-support.js';

describe('getBreakwater()', () => {
  it("is the breaker that decides: the adapter's transitions are its transitions", async () => {
    const b = breaker(double, { name: 'inventory' });
    const bw = b.getBreakwater();
    expect(bw.name).toBe('inventory');
    expect(bw.config).toMatchObject({
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 10,
      minimumNumberOfCalls: 1,
      permittedNumberOfCallsInHalfOpenState: 1,
      waitDurationInOpenState: 30_000,
      automaticTransitionFromOpenToHalfOpenEnabled: true,
    });
    const transitions: string[] = [];
    bw.on('STATE_TRANSITION', (e) => transitions.push(`${e.from}->${e.to}`));
    await fireMany(b, 1, 1);
    await fireMany(b, 1, -1);
    await fireMany(b, 1, -1);
    expect(await bw.getState()).toBe('OPEN');
    expect(transitions).toEqual(['CLOSED->OPEN']);
    expect(await bw.getMetrics()).toMatchObject({ numberOfBufferedCalls: 3, numberOfFailedCalls: 2 });
  });

  it('sees every call once handed out: its call events and its Prometheus metrics', async () => {
    const b = breaker(double, { name: 'metered', volumeThreshold: 100 });
    const bw = b.getBreakwater();
    const calls: string[] = [];
    bw.onEvent((e) => calls.push(e.type));
    const register = new Registry();
    const metrics = collectMetrics(bw, { register });
    await fireMany(b, 2, 1);
    await fireMany(b, 1, -1);
    expect(calls).toEqual(['SUCCESS', 'SUCCESS', 'ERROR']);
    const text = await register.metrics();
    expect(text).toMatch(/resilience4j_circuitbreaker_calls_seconds_count\{[^}]*kind="successful"[^}]*\} 2/);
    expect(text).toMatch(/resilience4j_circuitbreaker_calls_seconds_count\{[^}]*kind="failed"[^}]*\} 1/);
    metrics.close();
  });

  it('a transition made on it (an operator forcing it open, disabling it) shows in the getters and events', async () => {
    const b = breaker(double);
    const events = record(b, ['open', 'close', 'reject']);
    const bw = b.getBreakwater();
    await bw.transitionToForcedOpenState();
    await nextTurn();
    expect(b.opened).toBe(true);
    await expect(b.fire(1)).rejects.toMatchObject({ code: 'EOPENBREAKER' });
    await bw.transitionToDisabledState();
    await nextTurn();
    expect(b.closed).toBe(true);
    await expect(b.fire(-1)).rejects.toBeInstanceOf(DownstreamError);
    expect(b.closed).toBe(true); // DISABLED: failures change nothing
    expect(namesOf(events)).toEqual(['open', 'reject', 'close']);
    await bw.transitionToMetricsOnlyState();
    b.open(); // METRICS_ONLY -> OPEN is not a legal transition: nothing changes
    await nextTurn();
    expect(b.closed).toBe(true);
  });
});

describe('the breakwater option', () => {
  it("adds Breakwater's slow-call detection: slow calls open the breaker", async () => {
    useFakeTime();
    const b = breaker((ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)), {
      timeout: false,
      clock: fakeClock,
      breakwater: { slowCallDurationThreshold: 100, slowCallRateThreshold: 50, minimumNumberOfCalls: 2 },
    });
    for (const ms of [10, 500]) {
      const call = b.fire(ms);
      await elapse(ms);
      await call;
    }
    expect(b.opened).toBe(true);
    expect(b.getBreakwater().config.slowCallDurationThreshold).toBe(100);
  });

  it('may not change how errors count (errorFilter does)', () => {
    expect(() =>
      breaker(double, {
        breakwater: { recordExceptions: () => true } as unknown as CircuitBreaker.Options['breakwater'],
      }),
    ).toThrow(ConfigError);
  });

  it('may choose the other of two exclusive options', () => {
    const b = breaker(double, {
      breakwater: { waitIntervalFunctionInOpenState: (n) => n * 1000, halfOpenPolicy: 'rate' },
    });
    expect(b.getBreakwater().config).toMatchObject({ hasWaitIntervalFunction: true, halfOpenPolicy: 'rate' });
  });
});

describe('the store option', () => {
  it('two breakers of one name on one store are one breaker', async () => {
    const store = new MemoryStore();
    const a = breaker(double, { name: 'shared', store });
    const b = breaker(double, { name: 'shared', store });
    const events = record(b, ['open']);
    await fireMany(a, 1, -1);
    expect(a.opened).toBe(true);
    await expect(b.fire(1)).rejects.toMatchObject({ code: 'EOPENBREAKER' });
    expect(b.opened).toBe(true);
    expect(namesOf(events)).toEqual(['open']);
    a.close();
    await nextTurn();
    expect(b.closed).toBe(true);
  });

  it('needs a name: processes share the breaker of the same name', () => {
    const store = new MemoryStore();
    expect(() => breaker(() => Promise.resolve(1), { store })).toThrow(ConfigError);
    expect(breaker(double, { store }).name).toBe('double');
  });

  it('must be a Breakwater store', () => {
    expect(() => breaker(double, { store: {} as MemoryStore })).toThrow(/store/);
  });
});

describe('options are checked at construction', () => {
  it.each([
    ['timeout', { timeout: -1 }],
    ['resetTimeout', { resetTimeout: Number.NaN }],
    ['errorThresholdPercentage', { errorThresholdPercentage: -5 }],
    ['rollingCountTimeout', { rollingCountTimeout: 0 }],
    ['rollingCountBuckets', { rollingCountBuckets: 2.5 }],
    ['cacheTTL', { cacheTTL: -1 }],
    ['clock', { clock: {} }],
  ])('%s', (field, options) => {
    const error = (() => {
      try {
        breaker(double, options as CircuitBreaker.Options<[number]>);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
  });

  it('maxFailures is deprecated and ignored, with a warning', async () => {
    const warnings: string[] = [];
    const listener = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', listener);
    const b = breaker(double, { maxFailures: 5 });
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', listener);
    expect(warnings).toEqual([
      expect.stringMatching(/^DeprecationWarning: options.maxFailures is deprecated/),
    ]);
    await fireMany(b, 1, -1);
    expect(b.opened).toBe(true);
  });
});

/** The two ways a breaker's calls can run, and a breaker of each. */
const PATHS = [
  ['in process', (o: CircuitBreaker.Options<[number, Promise<void>?]>) => breaker(gated, o)],
  [
    "through Breakwater's execute",
    (o: CircuitBreaker.Options<[number, Promise<void>?]>) => {
      const b = breaker(gated, o);
      b.getBreakwater();
      return b;
    },
  ],
  [
    'on a MemoryStore',
    (o: CircuitBreaker.Options<[number, Promise<void>?]>) =>
      breaker(gated, { ...o, store: new MemoryStore() }),
  ],
] as const;

async function gated(x: number, gate?: Promise<void>): Promise<number> {
  await gate;
  return double(x);
}

/** Holds one call of `b` running, expects the next call refused with `code`, then lets the first end. */
async function refusedWhileOneRuns(b: CircuitBreaker<[number, Promise<void>?], number>, code: string) {
  const gate = deferred<void>();
  const running = b.fire(1, gate.promise);
  await nextTurn();
  await expect(b.fire(1)).rejects.toMatchObject({ code });
  gate.resolve();
  await running;
}

describe.each(PATHS)('the same decisions %s', (_path, make) => {
  it('threshold, half-open trial, close', async () => {
    useFakeTime();
    const b = make({ name: 'paths', resetTimeout: 1000, volumeThreshold: 4, clock: fakeClock });
    const events = record(b, ['open', 'halfOpen', 'close', 'reject', 'failure', 'success']);
    await fireMany(b, 2, 1);
    await fireMany(b, 1, -1);
    await fireMany(b, 1, -1); // 2 of 4: not above 50%
    expect(b.closed).toBe(true);
    await fireMany(b, 1, -1); // 3 of 5
    await nextTurn();
    expect(b.opened).toBe(true);
    await expect(b.fire(1)).rejects.toMatchObject({ code: 'EOPENBREAKER' });
    await elapse(1000);
    await nextTurn();
    expect(b.halfOpen).toBe(true);
    await refusedWhileOneRuns(b, 'EOPENBREAKER'); // the trial
    await nextTurn();
    expect(b.closed).toBe(true);
    expect(namesOf(events)).toEqual([
      'success',
      'success',
      'failure',
      'failure',
      'failure',
      'open',
      'reject',
      'halfOpen',
      'reject',
      'close',
      'success',
    ]);
  });

  it('errorFilter, warm-up and capacity do not count; timeouts do', async () => {
    useFakeTime();
    const b = make({
      name: 'paths-counting',
      clock: fakeClock,
      errorFilter: (e: DownstreamError) => e.statusCode === 404,
      allowWarmUp: true,
      rollingCountTimeout: 1000,
      capacity: 1,
      timeout: 100,
    });
    await fireMany(b, 3, -1); // warm-up
    expect(b.closed).toBe(true);
    await elapse(1000);
    await fireMany(b, 3, -404); // filtered: successes
    await refusedWhileOneRuns(b, 'ESEMLOCKED');
    expect(b.closed).toBe(true);
    const slow = b.fire(1, new Promise(() => {})).catch((e: { code?: string }) => e.code);
    await elapse(100);
    expect(await slow).toBe('ETIMEDOUT');
    expect(b.closed).toBe(true); // 1 failure of 5 calls
    await fireMany(b, 4, -1); // 5 of 9
    await nextTurn();
    expect(b.opened).toBe(true);
  });
});
