/**
 * When the breaker opens, half-opens and closes, as opossum documents it: the failure rate of the
 * rolling window EXCEEDING `errorThresholdPercentage`, `volumeThreshold`, `rollingCountTimeout`,
 * one trial call after `resetTimeout`, `allowWarmUp`; the manual `open`/`close`,
 * `enable`/`disable`, `shutdown`, `healthCheck`; the state getters, `toJSON` and the `state` option.
 */
import { describe, expect, it } from 'vitest';
import { deferred } from '../../../test/support/promises.js';
import type CircuitBreaker from './index.js';
import { breaker, DownstreamError, double, fireMany, namesOf, record } from './opossum.test-support.js';
import { elapse, fakeClock, nextTurn, T0, useFakeTime } from './time.test-support.js';

function getters(b: CircuitBreaker<[number], unknown>) {
  return { closed: b.closed, opened: b.opened, halfOpen: b.halfOpen, pendingClose: b.pendingClose };
}

describe('opening: the failure rate exceeds errorThresholdPercentage', () => {
  it('defaults: one failure as the first call opens (100% > 50%), as in opossum', async () => {
    const b = breaker(double);
    const events = record(b, ['open']);
    await fireMany(b, 1, -1);
    expect(getters(b)).toEqual({ closed: false, opened: true, halfOpen: false, pendingClose: false });
    expect(namesOf(events)).toEqual(['open']);
  });

  it('exactly at the threshold does not open; above it does', async () => {
    const b = breaker(double, { errorThresholdPercentage: 50 });
    await fireMany(b, 1, 1);
    await fireMany(b, 1, -1); // 1 of 2: 50%, not above
    expect(b.closed).toBe(true);
    await fireMany(b, 1, -1); // 2 of 3: 67%
    expect(b.opened).toBe(true);
  });

  it('errorThresholdPercentage 0: any failure opens; 100: the rate never does', async () => {
    const zero = breaker(double, { errorThresholdPercentage: 0 });
    await fireMany(zero, 9, 1);
    await fireMany(zero, 1, -1);
    expect(zero.opened).toBe(true);
    const hundred = breaker(double, { errorThresholdPercentage: 100 });
    await fireMany(hundred, 50, -1);
    expect(hundred.closed).toBe(true);
  });

  it('volumeThreshold: no opening below that many calls in the window', async () => {
    const b = breaker(double, { volumeThreshold: 5 });
    expect(b.volumeThreshold).toBe(5);
    await fireMany(b, 4, -1);
    expect(b.closed).toBe(true);
    await fireMany(b, 1, -1);
    expect(b.opened).toBe(true);
  });

  it('rollingCountTimeout: failures older than the window no longer count', async () => {
    useFakeTime();
    const b = breaker(double, { rollingCountTimeout: 3000, volumeThreshold: 3, clock: fakeClock });
    await fireMany(b, 2, -1);
    await elapse(3000);
    await fireMany(b, 1, -1); // the two earlier failures have left the window: 1 call, below 3
    expect(b.closed).toBe(true);
    await fireMany(b, 2, -1);
    expect(b.opened).toBe(true);
  });
});

describe('half-open: one trial call after resetTimeout', () => {
  it('goes half-open by itself when resetTimeout has passed (halfOpen event with resetTimeout)', async () => {
    useFakeTime();
    const b = breaker(double, { resetTimeout: 5000, clock: fakeClock });
    const events = record(b, ['open', 'halfOpen', 'close']);
    await fireMany(b, 1, -1);
    await elapse(4999);
    expect(b.opened).toBe(true);
    await elapse(1);
    await nextTurn();
    expect(getters(b)).toEqual({ closed: false, opened: false, halfOpen: true, pendingClose: true });
    expect(events).toEqual([
      { name: 'open', args: [] },
      { name: 'halfOpen', args: [5000] },
    ]);
  });

  it('with real timers too', async () => {
    const b = breaker(double, { resetTimeout: 50 });
    await fireMany(b, 1, -1);
    expect(b.opened).toBe(true);
    await expect.poll(() => b.halfOpen, { timeout: 5000 }).toBe(true);
  });

  it('lets one call through; others are refused meanwhile; its success closes the breaker', async () => {
    useFakeTime();
    const b = breaker(
      async (x: number, gate?: Promise<void>) => {
        await gate;
        return double(x);
      },
      { resetTimeout: 1000, clock: fakeClock },
    );
    const events = record(b, ['success', 'reject', 'close', 'open', 'halfOpen']);
    await b.fire(-1).catch(() => {});
    await elapse(1000);
    await nextTurn();
    const gate = deferred<void>();
    const trial = b.fire(1, gate.promise);
    expect(b.pendingClose).toBe(false);
    expect(b.halfOpen).toBe(true);
    await expect(b.fire(2)).rejects.toMatchObject({ code: 'EOPENBREAKER' });
    gate.resolve();
    await expect(trial).resolves.toBe(2);
    expect(b.closed).toBe(true);
    expect(namesOf(events)).toEqual(['open', 'halfOpen', 'reject', 'close', 'success']);
  });

  it('a failed trial opens it again for another resetTimeout', async () => {
    useFakeTime();
    const b = breaker(double, { resetTimeout: 1000, clock: fakeClock });
    const events = record(b, ['open', 'halfOpen', 'close', 'failure']);
    await fireMany(b, 1, -1);
    await elapse(1000);
    await nextTurn();
    await fireMany(b, 1, -1);
    expect(b.opened).toBe(true);
    await elapse(999);
    expect(b.opened).toBe(true);
    await elapse(1);
    await nextTurn();
    expect(b.halfOpen).toBe(true);
    expect(namesOf(events)).toEqual(['failure', 'open', 'halfOpen', 'failure', 'open', 'halfOpen']);
  });

  it('a trial that times out counts as failed', async () => {
    useFakeTime();
    const b = breaker(
      (x: number) => (x < 0 ? Promise.reject(new DownstreamError()) : new Promise<number>(() => {})),
      { resetTimeout: 1000, timeout: 100, clock: fakeClock },
    );
    await b.fire(-1).catch(() => {});
    await elapse(1000);
    await nextTurn();
    const trial = b.fire(1).catch((e: { code?: string }) => e.code);
    await elapse(100);
    expect(await trial).toBe('ETIMEDOUT');
    expect(b.opened).toBe(true);
  });
});

describe('open() and close()', () => {
  it('open() refuses calls and emits open at once; close() lets them through and emits close', async () => {
    const b = breaker(double);
    const events = record(b, ['open', 'close', 'reject']);
    b.open();
    expect(b.opened).toBe(true);
    b.open(); // already open: nothing
    await expect(b.fire(1)).rejects.toMatchObject({ code: 'EOPENBREAKER' });
    b.close();
    expect(b.closed).toBe(true);
    b.close(); // already closed: nothing
    await expect(b.fire(1)).resolves.toBe(2);
    expect(namesOf(events)).toEqual(['open', 'reject', 'close']);
    expect(b.stats.rejects).toBe(1);
  });

  it('an opened breaker goes half-open after resetTimeout', async () => {
    useFakeTime();
    const b = breaker(double, { resetTimeout: 2000, clock: fakeClock });
    b.open();
    await elapse(2000);
    await nextTurn();
    expect(b.halfOpen).toBe(true);
  });
});

describe('enable() and disable()', () => {
  it('a disabled breaker calls the action directly: no breaker, no fallback, no stats but fires', async () => {
    const b = breaker(double, { enabled: false });
    expect(b.enabled).toBe(false);
    b.fallback(() => 'fallback');
    const events = record(b);
    await expect(b.fire(-1)).rejects.toBeInstanceOf(DownstreamError);
    await expect(b.fire(-1)).rejects.toBeInstanceOf(DownstreamError);
    expect(b.closed).toBe(true);
    expect(namesOf(events)).toEqual(['fire', 'fire']);
    expect(b.stats).toMatchObject({ fires: 2, failures: 0, fallbacks: 0 });
    b.open();
    await expect(b.fire(3)).resolves.toBe(6); // even open: not protected
    b.enable();
    expect(b.enabled).toBe(true);
    await expect(b.fire(3)).resolves.toBe('fallback'); // protected again: refused, to the fallback
  });
});

describe('shutdown()', () => {
  it('emits shutdown, then every call rejects with ESHUTDOWN and the listeners are gone', async () => {
    const b = breaker(double, { cache: true });
    const events = record(b, ['shutdown', 'fire']);
    await b.fire(1);
    b.shutdown();
    expect(namesOf(events)).toEqual(['fire', 'shutdown']);
    expect(b.isShutdown).toBe(true);
    expect(b.enabled).toBe(false);
    expect(getters(b)).toEqual({ closed: false, opened: false, halfOpen: false, pendingClose: false });
    expect(b.listenerCount('fire')).toBe(0);
    await expect(b.fire(1)).rejects.toMatchObject({ code: 'ESHUTDOWN' });
    b.shutdown(); // a second time: nothing
  });
});

describe('allowWarmUp', () => {
  it('failures in the first rollingCountTimeout do not open the breaker; afterwards they do', async () => {
    useFakeTime();
    const b = breaker(double, { allowWarmUp: true, rollingCountTimeout: 10_000, clock: fakeClock });
    expect(b.warmUp).toBe(true);
    await fireMany(b, 5, -1);
    expect(b.closed).toBe(true);
    expect(b.stats.failures).toBe(5);
    await elapse(10_000);
    expect(b.warmUp).toBe(false);
    await fireMany(b, 1, -1);
    expect(b.opened).toBe(true);
  });

  it('without it there is no warm-up', () => {
    expect(breaker(double).warmUp).toBe(false);
  });
});

describe('healthCheck()', () => {
  it('calls the check at once and every interval, as the breaker; a rejection opens the breaker', async () => {
    useFakeTime();
    const b = breaker(double, { clock: fakeClock, resetTimeout: 60_000 });
    const events = record(b, ['healthCheckFailed', 'open']);
    const selves: unknown[] = [];
    let healthy = true;
    b.healthCheck(function (this: unknown) {
      selves.push(this);
      return healthy ? Promise.resolve() : Promise.reject(new Error('unhealthy'));
    }, 1000);
    expect(selves).toEqual([b]);
    await elapse(1000);
    expect(selves).toHaveLength(2);
    expect(b.closed).toBe(true);
    healthy = false;
    await elapse(1000);
    expect(b.opened).toBe(true);
    expect(events).toEqual([
      { name: 'healthCheckFailed', args: [new Error('unhealthy')] },
      { name: 'open', args: [] },
    ]);
  });

  it('checks its arguments; the default interval is 5 s; shutdown stops it', async () => {
    useFakeTime();
    const b = breaker(double, { clock: fakeClock });
    expect(() => b.healthCheck('no' as unknown as () => Promise<void>)).toThrow(TypeError);
    expect(() => b.healthCheck(() => Promise.resolve(), 'x' as unknown as number)).toThrow(TypeError);
    let calls = 0;
    b.healthCheck(async () => {
      calls++;
    });
    await elapse(5000);
    expect(calls).toBe(2);
    b.shutdown();
    await elapse(20_000);
    expect(calls).toBe(2);
  });
});

describe('toJSON() and the state option', () => {
  it('toJSON gives the state and the stats', async () => {
    useFakeTime();
    const b = breaker(double, { name: 'svc', clock: fakeClock });
    await fireMany(b, 1, 2);
    expect(b.toJSON()).toEqual({
      state: {
        name: 'svc',
        enabled: true,
        closed: true,
        open: false,
        halfOpen: false,
        warmUp: false,
        shutdown: false,
        lastTimerAt: undefined,
      },
      status: b.stats,
    });
    b.open();
    expect(b.toJSON().state).toMatchObject({ open: true, closed: false, lastTimerAt: T0 });
  });

  it('a breaker built from a saved open state stays open for resetTimeout, then half-opens', async () => {
    useFakeTime();
    const saved = breaker(double, { clock: fakeClock });
    saved.open();
    const state = saved.toJSON().state;
    const b = breaker(double, { state, resetTimeout: 1000, clock: fakeClock });
    expect(b.opened).toBe(true);
    await elapse(1000);
    await nextTurn();
    expect(b.halfOpen).toBe(true);
  });

  it('a saved open state older than resetTimeout starts half-open; closed, disabled and shut down states too', async () => {
    useFakeTime();
    const old = { closed: false, open: true, halfOpen: false, lastTimerAt: T0 - 60_000 };
    expect(breaker(double, { state: old, resetTimeout: 30_000, clock: fakeClock }).halfOpen).toBe(true);
    expect(breaker(double, { state: { closed: true } }).closed).toBe(true);
    expect(breaker(double, { state: { closed: false, halfOpen: true } }).halfOpen).toBe(true);
    expect(breaker(double, { state: { enabled: false } }).enabled).toBe(false);
    expect(breaker(double, { state: { warmUp: true } }).warmUp).toBe(true);
    expect(breaker(double, { state: { shutdown: true } }).isShutdown).toBe(true);
  });
});
