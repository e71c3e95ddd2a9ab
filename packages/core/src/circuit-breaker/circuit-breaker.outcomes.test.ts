/**
 * How outcomes are classified and recorded: recordExceptions, ignoreExceptions, recordResult, late
 * results from an earlier state, and rejections by the other policies.
 */
import {
  BulkheadFullError,
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  type CircuitBreakerEvent,
  RequestNotPermittedError,
  ResultRecordedAsFailureError,
} from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { deferred } from '../../../../test/support/promises.js';
import {
  BoomError,
  clock,
  fail,
  freshClockForEachTest,
  IgnoredError,
  listen,
  make,
  RecordedError,
  SMALL,
  T0,
  typesOf,
} from './circuit-breaker.test-support.js';

freshClockForEachTest();

// ====================================================================== error classification

describe('recordExceptions / ignoreExceptions / recordResult', () => {
  const counting: CircuitBreakerConfig = { slidingWindowSize: 10, minimumNumberOfCalls: 10 };

  it('every error is a failure by default, whatever was thrown', async () => {
    const cb = make(counting);
    await fail(cb, 1, 0, new TypeError('t'));
    await fail(cb, 1, 0, 'a string');
    await fail(cb, 1, 0, undefined);
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(3);
  });

  it('recordExceptions as classes: matching errors fail, others succeed (neither => success)', async () => {
    const cb = make({ ...counting, recordExceptions: [RecordedError] });
    const events = listen(cb);
    await fail(cb, 1, 0, new RecordedError('r'));
    await fail(cb, 1, 0, new TypeError('not recorded'));
    await fail(cb, 1, 0, 'not an error at all');
    expect(typesOf(events)).toEqual(['ERROR', 'SUCCESS', 'SUCCESS']);
    expect(await cb.getMetrics()).toMatchObject({ numberOfFailedCalls: 1, numberOfSuccessfulCalls: 2 });
  });

  it('recordExceptions matches subclasses', async () => {
    class SubRecorded extends RecordedError {}
    const cb = make({ ...counting, recordExceptions: [RecordedError] });
    await fail(cb, 1, 0, new SubRecorded('sub'));
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(1);
  });

  it('recordExceptions as a predicate', async () => {
    const cb = make({ ...counting, recordExceptions: (e) => (e as { code?: number })?.code === 503 });
    await fail(cb, 1, 0, { code: 503 });
    await fail(cb, 1, 0, { code: 404 });
    expect(await cb.getMetrics()).toMatchObject({ numberOfFailedCalls: 1, numberOfSuccessfulCalls: 1 });
  });

  it('ignoreExceptions as classes: neither failure nor success, the caller still gets the error', async () => {
    const cb = make({ ...counting, ignoreExceptions: [IgnoredError] });
    const events = listen(cb);
    const error = new IgnoredError('ignored');
    await fail(cb, 1, 5, error);
    expect(events).toEqual([
      { kind: 'circuitbreaker', type: 'IGNORED_ERROR', name: 'cb', at: T0 + 5, durationMs: 5, error },
    ]);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('ignoreExceptions as a predicate', async () => {
    const cb = make({ ...counting, ignoreExceptions: (e) => e === 'ignore me' });
    await fail(cb, 1, 0, 'ignore me');
    await fail(cb, 1, 0, 'count me');
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfFailedCalls: 1 });
  });

  it('ignore wins over record', async () => {
    const cb = make({ ...counting, recordExceptions: [Error], ignoreExceptions: [IgnoredError] });
    await fail(cb, 1, 0, new IgnoredError('both'));
    await fail(cb, 1, 0, new BoomError('record'));
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfFailedCalls: 1 });
    const byPredicate = make({ ...counting, recordExceptions: () => true, ignoreExceptions: () => true });
    await fail(byPredicate);
    expect((await byPredicate.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('recordResult turns a result into a failure; the caller still gets the result', async () => {
    const cb = make({ ...counting, recordResult: (r) => (r as { status: number }).status >= 500 });
    const events = listen(cb);
    await expect(cb.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
    await expect(cb.execute(() => ({ status: 200 }))).resolves.toEqual({ status: 200 });
    expect(await cb.getMetrics()).toMatchObject({ numberOfFailedCalls: 1, numberOfSuccessfulCalls: 1 });
    expect(typesOf(events)).toEqual(['ERROR', 'SUCCESS']);
    const error = (events[0] as Extract<CircuitBreakerEvent, { type: 'ERROR' }>).error;
    expect(error).toBeInstanceOf(ResultRecordedAsFailureError);
    expect(error).toMatchObject({ circuitBreakerName: 'cb', result: { status: 503 } });
  });

  it('recordResult can open the breaker', async () => {
    const cb = make({ ...SMALL, recordResult: (r) => r === null });
    await cb.execute(() => null);
    await cb.execute(() => null);
    expect(await cb.getState()).toBe('OPEN');
  });

  const throwing = () => {
    throw new Error('predicate bug');
  };
  it.each([
    ['ignoreExceptions', { ignoreExceptions: throwing }, 'error'],
    ['recordExceptions', { recordExceptions: throwing }, 'error'],
    ['recordResult', { recordResult: throwing }, 'result'],
  ] as const)(
    'a throwing %s predicate counts as a failure and never leaks a permit',
    async (_n, extra, kind) => {
      const cb = make({
        ...SMALL,
        permittedNumberOfCallsInHalfOpenState: 1,
        minimumNumberOfCalls: 1,
        ...extra,
      });
      await cb.transitionToOpenState();
      clock.advance(1000);
      const run = () =>
        kind === 'error'
          ? expect(cb.execute(() => Promise.reject(new BoomError('x')))).rejects.toThrow('x')
          : expect(cb.execute(() => 'value')).resolves.toBe('value');
      await run();
      expect(await cb.getState()).toBe('OPEN'); // the probe was consumed as a failure
      clock.advance(1000);
      await run(); // and the next half-open admits a probe again
      expect(await cb.getState()).toBe('OPEN');
    },
  );
});

// ====================================================================== late results

describe('late results', () => {
  it('a call admitted in CLOSED that ends after OPEN and HALF_OPEN does not count in the half-open window', async () => {
    const cb = make({ ...SMALL, permittedNumberOfCallsInHalfOpenState: 2 });
    const slow = deferred();
    const late = cb.execute(() => slow.promise); // admitted in CLOSED
    await fail(cb, 2);
    expect(await cb.getState()).toBe('OPEN');
    clock.advance(1000);
    expect(await cb.tryAcquirePermission()).toBe(true); // HALF_OPEN, one probe out
    slow.reject(new BoomError('late failure'));
    await expect(late).rejects.toThrow('late failure');
    expect(await cb.getState()).toBe('HALF_OPEN');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    // The half-open window still decides on its own two probes.
    await cb.onSuccess(0);
    expect(await cb.tryAcquirePermission()).toBe(true);
    await cb.onSuccess(0);
    expect(await cb.getState()).toBe('CLOSED');
  });

  it('a late result does not touch the window that tripped the breaker', async () => {
    const cb = make({ slidingWindowSize: 4, minimumNumberOfCalls: 4 });
    const slow = deferred<string>();
    const late = cb.execute(() => slow.promise);
    await fail(cb, 4);
    const before = await cb.getMetrics();
    slow.resolve('done');
    await late;
    expect(await cb.getMetrics()).toEqual(before);
  });

  it('a late result from a previous CLOSED period does not count in the new CLOSED window', async () => {
    const cb = make({ slidingWindowSize: 2, minimumNumberOfCalls: 2 });
    const slow = deferred();
    const late = cb.execute(() => slow.promise);
    await cb.transitionToOpenState();
    await cb.transitionToClosedState();
    await fail(cb);
    slow.reject(new BoomError('late'));
    await expect(late).rejects.toThrow('late');
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(1);
  });
});

describe("rejections by Breakwater's own policies", () => {
  it.each([
    ['BulkheadFullError', () => new BulkheadFullError('bh')],
    ['RequestNotPermittedError', () => new RequestNotPermittedError('rl', 10)],
    ['CallNotPermittedError (an inner breaker)', () => new CallNotPermittedError('inner', 'OPEN')],
  ])('%s is ignored: it never reached the downstream', async (_label, make) => {
    const cb = CircuitBreaker.of('own', { slidingWindowSize: 2, minimumNumberOfCalls: 1 });
    const ignored: unknown[] = [];
    cb.on('IGNORED_ERROR', (e) => ignored.push(e.error));
    for (let i = 0; i < 5; i++) {
      await expect(
        cb.execute(() => {
          throw make();
        }),
      ).rejects.toBeDefined();
    }
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    expect(ignored).toHaveLength(5);
  });
});
