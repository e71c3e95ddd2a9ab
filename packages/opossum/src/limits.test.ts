/**
 * `timeout` (ETIMEDOUT, the `timeout` event, `abortController`, `autoRenewAbortController`) and
 * `capacity` (ESEMLOCKED, the `semaphoreLocked` event), as opossum documents them.
 */
import { describe, expect, it } from 'vitest';
import { deferred } from '../../../test/support/promises.js';
import CircuitBreaker from './index.js';
import { breaker, double, namesOf, record } from './opossum.test-support.js';
import { elapse, fakeClock, nextTurn, useFakeTime } from './time.test-support.js';

const never = (_x: number): Promise<number> => new Promise(() => {});

describe('timeout', () => {
  it('a call slower than timeout fails with ETIMEDOUT: timeout, failure, then the fallback', async () => {
    useFakeTime();
    const b = breaker(never, { timeout: 3000, volumeThreshold: 10, clock: fakeClock });
    b.fallback(() => 'late');
    const events = record(b, ['timeout', 'failure', 'fallback', 'open']);
    const call = b.fire(7);
    await elapse(2999);
    expect(events).toEqual([]);
    await elapse(1);
    await expect(call).resolves.toBe('late');
    expect(namesOf(events)).toEqual(['timeout', 'failure', 'fallback']);
    const [timeoutEvent, failureEvent] = events;
    expect(timeoutEvent.args).toEqual([expect.objectContaining({ code: 'ETIMEDOUT' }), 3000, [7]]);
    expect((timeoutEvent.args[0] as Error).message).toBe('Timed out after 3000ms');
    expect(failureEvent.args[0]).toBe(timeoutEvent.args[0]);
    expect(CircuitBreaker.isOurError(timeoutEvent.args[0] as Error)).toBe(true);
    expect(b.stats).toMatchObject({ timeouts: 1, failures: 1, fallbacks: 1 });
  });

  it('timeouts count as failures and open the breaker', async () => {
    useFakeTime();
    const b = breaker(never, { timeout: 100, clock: fakeClock });
    const call = b.fire(1).catch((e: { code?: string }) => e.code);
    await elapse(100);
    expect(await call).toBe('ETIMEDOUT');
    expect(b.opened).toBe(true);
  });

  it('defaults to 10 s; false (or 0) turns it off', async () => {
    useFakeTime();
    const byDefault = breaker(never, { clock: fakeClock });
    const off = breaker(never, { timeout: false, clock: fakeClock });
    const zero = breaker(never, { timeout: 0, clock: fakeClock });
    const settled: string[] = [];
    for (const [name, b] of [
      ['default', byDefault],
      ['off', off],
      ['zero', zero],
    ] as const) {
      b.fire(1).catch((e: { code?: string }) => settled.push(`${name} ${e.code}`));
    }
    await elapse(9999);
    expect(settled).toEqual([]);
    await elapse(1);
    expect(settled).toEqual(['default ETIMEDOUT']);
    await elapse(3_600_000);
    expect(settled).toEqual(['default ETIMEDOUT']);
  });

  it('a result after the timeout is ignored', async () => {
    useFakeTime();
    const late = deferred<number>();
    const b = breaker((_x: number) => late.promise, { timeout: 100, volumeThreshold: 10, clock: fakeClock });
    const events = record(b, ['success', 'failure']);
    const call = b.fire(1).catch((e: { code?: string }) => e.code);
    await elapse(100);
    late.resolve(5);
    expect(await call).toBe('ETIMEDOUT');
    await nextTurn();
    expect(namesOf(events)).toEqual(['failure']);
  });

  it('aborts the abortController on timeout, so that the action can stop', async () => {
    useFakeTime();
    const abortController = new AbortController();
    const b = breaker(
      (signal: AbortSignal) =>
        new Promise<void>((_, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted by the signal')));
        }),
      { abortController, timeout: 100, clock: fakeClock },
    );
    expect(b.getAbortController()).toBe(abortController);
    expect(b.getSignal()).toBe(abortController.signal);
    const call = b.fire(abortController.signal).catch((e: { code?: string }) => e.code);
    await elapse(100);
    expect(await call).toBe('ETIMEDOUT');
    expect(abortController.signal.aborted).toBe(true);
  });

  it('autoRenewAbortController: a fresh controller once the breaker half-opens or closes', async () => {
    useFakeTime();
    const b = breaker((_signal: AbortSignal | undefined) => new Promise<void>(() => {}), {
      autoRenewAbortController: true,
      timeout: 100,
      resetTimeout: 1000,
      clock: fakeClock,
    });
    const first = b.getSignal();
    expect(first).toBeInstanceOf(AbortSignal);
    const call = b.fire(first).catch(() => {});
    await elapse(100);
    await call;
    expect(first?.aborted).toBe(true);
    expect(b.opened).toBe(true);
    expect(b.getSignal()).toBe(first);
    await elapse(1000);
    await nextTurn();
    expect(b.halfOpen).toBe(true);
    expect(b.getSignal()).not.toBe(first);
    expect(b.getSignal()?.aborted).toBe(false);
  });

  it('rejects an abortController without abort()', () => {
    expect(() => breaker(double, { abortController: {} as AbortController })).toThrow(/abortController/);
  });
});

describe('capacity', () => {
  it('calls beyond capacity fail at once with ESEMLOCKED and semaphoreLocked, to the fallback', async () => {
    const gate = deferred<void>();
    const b = breaker(
      async (x: number) => {
        await gate.promise;
        return x;
      },
      { capacity: 2 },
    );
    const events = record(b, ['semaphoreLocked', 'failure', 'fallback']);
    const running = [b.fire(1), b.fire(2)];
    const error = await b.fire(3).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ESEMLOCKED', message: 'Semaphore locked' });
    expect(CircuitBreaker.isOurError(error as Error)).toBe(true);
    expect(events).toEqual([{ name: 'semaphoreLocked', args: [error, expect.any(Number)] }]);
    b.fallback(() => 'busy');
    await expect(b.fire(4)).resolves.toBe('busy');
    gate.resolve();
    await expect(Promise.all(running)).resolves.toEqual([1, 2]);
    await expect(b.fire(5)).resolves.toBe(5);
    expect(b.stats).toMatchObject({ semaphoreRejections: 2, failures: 0, successes: 3, fallbacks: 1 });
  });

  it('a full capacity does not count towards opening the breaker (opossum counts it; see the README)', async () => {
    const gate = deferred<void>();
    const b = breaker(async () => gate.promise, { capacity: 1 });
    const running = b.fire();
    for (let i = 0; i < 20; i++) await b.fire().catch(() => {});
    expect(b.closed).toBe(true);
    gate.resolve();
    await running;
  });

  it('a timed-out call gives its slot back', async () => {
    useFakeTime();
    const b = breaker(never, { capacity: 1, timeout: 100, volumeThreshold: 100, clock: fakeClock });
    const first = b.fire(1).catch((e: { code?: string }) => e.code);
    await expect(b.fire(2)).rejects.toMatchObject({ code: 'ESEMLOCKED' });
    await elapse(100);
    expect(await first).toBe('ETIMEDOUT');
    const second = b.fire(3).catch((e: { code?: string }) => e.code);
    await elapse(100);
    expect(await second).toBe('ETIMEDOUT');
  });

  it('capacity 0 admits nothing; a capacity that is not an integer is no limit (as opossum)', async () => {
    await expect(breaker(double, { capacity: 0 }).fire(1)).rejects.toMatchObject({ code: 'ESEMLOCKED' });
    await expect(breaker(double, { capacity: 1.5 }).fire(1)).resolves.toBe(2);
  });
});
