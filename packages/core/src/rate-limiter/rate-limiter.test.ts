import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { settle, track } from '../../../../test/support/promises.js';
import { type Clock, ManualClock } from '../common/clock.js';
import { expectBreakersOnlyStoreRefused, expectConfigError } from '../common/config.test-support.js';
import { ConfigError, RequestNotPermittedError } from '../common/errors.js';
import { NEVER_ABORTED } from '../common/signal.js';
import {
  activeTimeouts,
  fakeTimersClock,
  fakeTimersForEachTest,
  realTimersAfterEach,
} from '../common/timers.test-support.js';
import { RateLimiter } from './rate-limiter.js';
import { RATE_LIMITER_DEFAULTS } from './rate-limiter-config.js';
import type { RateLimiterEvent } from './rate-limiter-events.js';
import { RateLimiterRegistry } from './rate-limiter-registry.js';
import type { RateLimiterEngine, RateLimiterStore } from './rate-limiter-store.js';

// Whatever a test did with fake timers (a failed property run leaves them on).
realTimersAfterEach();

describe('RateLimiter config', () => {
  it('fills in the defaults', () => {
    const rl = RateLimiter.ofDefaults('api');
    expect(rl.name).toBe('api');
    expect(rl.config).toEqual(RATE_LIMITER_DEFAULTS);
    expect(RATE_LIMITER_DEFAULTS).toEqual({
      algorithm: 'fixed-window',
      limitForPeriod: 50,
      limitRefreshPeriod: 500,
      timeoutDuration: 5_000,
    });
  });

  it.each([
    [{ limitForPeriod: 0 }, 'limitForPeriod'],
    [{ limitForPeriod: 1.5 }, 'limitForPeriod'],
    [{ limitRefreshPeriod: 0 }, 'limitRefreshPeriod'],
    [{ limitRefreshPeriod: 2.5 }, 'limitRefreshPeriod'],
    [{ timeoutDuration: -1 }, 'timeoutDuration'],
    [{ timeoutDuration: Number.NaN }, 'timeoutDuration'],
    [{ timeoutDuration: 2 ** 31 }, 'timeoutDuration'],
    [{ algorithm: 'sliding-log' }, 'algorithm'],
    [{ limitPerPeriod: 5 }, 'limitPerPeriod'],
  ])('rejects %j naming the field', (config, field) => {
    expectConfigError(() => RateLimiter.of('api', config as never), field);
  });

  it('rejects a bad name and a bad clock', () => {
    expect(() => RateLimiter.of('')).toThrow(ConfigError);
    expect(() => RateLimiter.of('api', {}, { clock: {} as Clock })).toThrow(/clock/);
  });

  it('does not mutate the config it was given', () => {
    const config = Object.freeze({ limitForPeriod: 3 });
    expect(RateLimiter.of('api', config).config.limitForPeriod).toBe(3);
  });
});

describe('RateLimiter', () => {
  fakeTimersForEachTest();

  const limiter = (config: ConstructorParameters<typeof RateLimiter>[1], clock: Clock = fakeTimersClock) =>
    RateLimiter.of('api', config, { clock });

  it('runs the function at once while permits last, passing the caller signal (or a never-aborted one)', async () => {
    const rl = limiter({ limitForPeriod: 2, limitRefreshPeriod: 100, timeoutDuration: 0 });
    const seen: AbortSignal[] = [];
    const controller = new AbortController();
    const record = (s: AbortSignal) => seen.push(s);
    await expect(rl.execute(record)).resolves.toBe(1);
    await expect(rl.execute(async (s) => record(s), controller.signal)).resolves.toBe(2);
    expect(seen).toEqual([NEVER_ABORTED, controller.signal]);
  });

  it('turns a synchronous throw (of anything) into a rejection', async () => {
    const rl = limiter({ limitForPeriod: 5 });
    await expect(
      rl.execute(() => {
        throw new TypeError('boom');
      }),
    ).rejects.toThrow(TypeError);
    await expect(
      rl.execute(() => {
        throw 'a string';
      }),
    ).rejects.toBe('a string');
  });

  it('rejects at once with retryAfterMs when no permit will be free within timeoutDuration', async () => {
    const rl = limiter({ limitForPeriod: 1, limitRefreshPeriod: 100, timeoutDuration: 30 });
    vi.setSystemTime(1_040);
    await rl.execute(() => 1);
    const fn = vi.fn(() => 2);
    const call = track(rl.execute(fn));
    await settle();
    // Not a single timer step: the caller was not made to wait out its 30 ms.
    expect(call.done).toBe(true);
    expect(call.error).toBeInstanceOf(RequestNotPermittedError);
    expect((call.error as RequestNotPermittedError).retryAfterMs).toBe(60);
    expect((call.error as RequestNotPermittedError).rateLimiterName).toBe('api');
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('makes a caller wait (on a timer, not the event loop) when its permit comes within the timeout', async () => {
    const rl = limiter({ limitForPeriod: 1, limitRefreshPeriod: 100, timeoutDuration: 100 });
    await rl.execute(() => 1);
    const fn = vi.fn(() => 'late');
    const call = track(rl.execute(fn));
    await settle();
    expect(fn).not.toHaveBeenCalled();
    expect((await rl.getMetrics()).numberOfWaitingCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(call.value).toBe('late');
    expect((await rl.getMetrics()).numberOfWaitingCalls).toBe(0);
  });

  it('reserves permits of later periods for waiting callers, in order', async () => {
    const rl = limiter({ limitForPeriod: 2, limitRefreshPeriod: 100, timeoutDuration: 250 });
    const started: [number, number][] = [];
    const calls = [0, 1, 2, 3, 4, 5, 6].map((i) => track(rl.execute(() => started.push([i, Date.now()]))));
    await settle();
    // The 7th would need the period starting at 300: more than 250 ms away.
    expect(calls[6].error).toBeInstanceOf(RequestNotPermittedError);
    expect((calls[6].error as RequestNotPermittedError).retryAfterMs).toBe(300);
    expect((await rl.getMetrics()).availablePermissions).toBe(-4);
    await vi.advanceTimersByTimeAsync(300);
    expect(started).toEqual([
      [0, 0],
      [1, 0],
      [2, 100],
      [3, 100],
      [4, 200],
      [5, 200],
    ]);
  });

  it('an abort while waiting rejects with its reason, gives the reservation back and never runs the function', async () => {
    const rl = limiter({ limitForPeriod: 1, limitRefreshPeriod: 100, timeoutDuration: 1_000 });
    const events: RateLimiterEvent[] = [];
    rl.onEvent((e) => events.push(e));
    await rl.execute(() => 1);
    const controller = new AbortController();
    const fn = vi.fn();
    const call = track(rl.execute(fn, controller.signal));
    await vi.advanceTimersByTimeAsync(50);
    controller.abort(new Error('caller gave up'));
    await settle();
    expect((call.error as Error).message).toBe('caller gave up');
    expect((await rl.getMetrics()).numberOfWaitingCalls).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    // Its slot at 100 is free again for the next caller.
    const next = vi.fn();
    rl.execute(next);
    await vi.advanceTimersByTimeAsync(50);
    expect(next).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fn).not.toHaveBeenCalled();
    expect(events.map((e) => [e.type, e.at, e.type === 'FAILED_ACQUIRE' ? e.reason : e.waitMs])).toEqual([
      ['SUCCESSFUL_ACQUIRE', 0, 0],
      ['FAILED_ACQUIRE', 50, 'ABORTED'],
      ['SUCCESSFUL_ACQUIRE', 100, 50],
    ]);
  });

  it('rejects an already aborted caller without taking a permit', async () => {
    const rl = limiter({ limitForPeriod: 1 });
    const controller = new AbortController();
    controller.abort('stop');
    await expect(rl.execute(() => 1, controller.signal)).rejects.toBe('stop');
    await expect(rl.acquirePermission(1, controller.signal)).rejects.toBe('stop');
    expect((await rl.getMetrics()).availablePermissions).toBe(1);
  });

  it('publishes SUCCESSFUL_ACQUIRE and FAILED_ACQUIRE', async () => {
    const rl = limiter({ limitForPeriod: 1, limitRefreshPeriod: 100, timeoutDuration: 0 });
    const failed: RateLimiterEvent[] = [];
    const all: RateLimiterEvent[] = [];
    const off = rl.on('FAILED_ACQUIRE', (e) => failed.push(e));
    rl.onEvent((e) => all.push(e));
    await rl.execute(() => 1);
    await rl.execute(() => 1).catch(() => {});
    expect(all).toEqual([
      { kind: 'ratelimiter', type: 'SUCCESSFUL_ACQUIRE', name: 'api', at: 0, permits: 1, waitMs: 0 },
      {
        kind: 'ratelimiter',
        type: 'FAILED_ACQUIRE',
        name: 'api',
        at: 0,
        permits: 1,
        reason: 'NO_PERMIT',
        retryAfterMs: 100,
      },
    ]);
    expect(failed).toEqual([all[1]]);
    off();
    await rl.execute(() => 1).catch(() => {});
    expect(failed).toHaveLength(1);
  });

  it('acquirePermission takes several permits, waits when allowed and validates the count', async () => {
    const rl = limiter({ limitForPeriod: 3, limitRefreshPeriod: 100, timeoutDuration: 100 });
    await rl.acquirePermission(3);
    const second = track(rl.acquirePermission(2));
    await vi.advanceTimersByTimeAsync(99);
    expect(second.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(second.done).toBe(true);
    await expect(rl.acquirePermission(0)).rejects.toThrow(RangeError);
    await expect(rl.acquirePermission(4)).rejects.toThrow(RangeError);
    await expect(rl.acquirePermission(1.5)).rejects.toThrow(RangeError);
    // One permit is left at 100; three more come with the period at 200, within the timeout.
    const third = track(rl.acquirePermission(3));
    await expect(rl.acquirePermission(1)).rejects.toThrow(RequestNotPermittedError);
    await vi.advanceTimersByTimeAsync(100);
    expect(third.done).toBe(true);
  });

  it('drainPermissions takes what is left in the period', async () => {
    const rl = limiter({ limitForPeriod: 5, limitRefreshPeriod: 100, timeoutDuration: 0 });
    await rl.execute(() => 1);
    await expect(rl.drainPermissions()).resolves.toBe(4);
    await expect(rl.execute(() => 1)).rejects.toThrow(RequestNotPermittedError);
    vi.setSystemTime(100);
    await expect(rl.execute(() => 1)).resolves.toBe(1);
  });

  it('changeLimitForPeriod and changeTimeoutDuration apply to later calls and are validated', async () => {
    const rl = limiter({ limitForPeriod: 1, limitRefreshPeriod: 100, timeoutDuration: 0 });
    await rl.execute(() => 1);
    rl.changeLimitForPeriod(3);
    expect(rl.config.limitForPeriod).toBe(3);
    // The state is kept: one permit of this period was used.
    expect((await rl.getMetrics()).availablePermissions).toBe(0);
    vi.setSystemTime(100);
    expect((await rl.getMetrics()).availablePermissions).toBe(3);
    await rl.acquirePermission(3);
    rl.changeTimeoutDuration(100);
    expect(rl.config.timeoutDuration).toBe(100);
    const waiting = track(rl.execute(() => 'ok'));
    await vi.advanceTimersByTimeAsync(100);
    expect(waiting.value).toBe('ok');
    expect(() => rl.changeLimitForPeriod(0)).toThrow(ConfigError);
    expect(() => rl.changeTimeoutDuration(-5)).toThrow(ConfigError);
  });

  it("gcra spreads permits evenly: no burst of twice the limit around a period's end", async () => {
    const rl = limiter({ algorithm: 'gcra', limitForPeriod: 4, limitRefreshPeriod: 100, timeoutDuration: 0 });
    vi.setSystemTime(99);
    const first = await Promise.allSettled([1, 2, 3, 4].map(() => rl.execute(() => 1)));
    vi.setSystemTime(100);
    const second = await Promise.allSettled([1, 2, 3, 4].map(() => rl.execute(() => 1)));
    expect(first.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(second.filter((r) => r.status === 'fulfilled')).toHaveLength(0);
    const fixed = limiter({ limitForPeriod: 4, limitRefreshPeriod: 100, timeoutDuration: 0 });
    vi.setSystemTime(199);
    const a = await Promise.allSettled([1, 2, 3, 4].map(() => fixed.execute(() => 1)));
    vi.setSystemTime(200);
    const b = await Promise.allSettled([1, 2, 3, 4].map(() => fixed.execute(() => 1)));
    expect([...a, ...b].filter((r) => r.status === 'fulfilled')).toHaveLength(8);
  });

  it('gcra makes a burst of callers wait their turn, one interval apart', async () => {
    const rl = limiter({
      algorithm: 'gcra',
      limitForPeriod: 4,
      limitRefreshPeriod: 100,
      timeoutDuration: 60,
    });
    const started: number[] = [];
    const calls = [1, 2, 3, 4].map(() => track(rl.execute(() => started.push(Date.now()))));
    await vi.advanceTimersByTimeAsync(200);
    expect(started).toEqual([0, 25, 50]);
    expect((calls[3].error as RequestNotPermittedError).retryAfterMs).toBe(75);
  });

  it('decorate keeps the arguments and the result', async () => {
    const rl = limiter({});
    const add = rl.decorate(async (a: number, b: number) => a + b);
    await expect(add(2, 3)).resolves.toBe(5);
  });

  it('works with a ManualClock alone when nobody has to wait', async () => {
    const clock = new ManualClock(0);
    const rl = limiter({ limitForPeriod: 1, limitRefreshPeriod: 10, timeoutDuration: 0 }, clock);
    await rl.execute(() => 1);
    await expect(rl.execute(() => 1)).rejects.toMatchObject({ retryAfterMs: 10 });
    clock.advance(10);
    await expect(rl.execute(() => 1)).resolves.toBe(1);
  });
});

describe('RateLimiter with a store', () => {
  fakeTimersForEachTest();

  /** A remote-like engine: answers with promises, records what it was asked. */
  function asyncStore(answers: number[]) {
    const log: string[] = [];
    const store: RateLimiterStore & { kind: string } = {
      kind: 'fake',
      rateLimiter: (name, settings) => {
        log.push(`create ${name} ${settings.limitForPeriod}`);
        const engine: RateLimiterEngine = {
          acquire: async (permits, _now, timeoutMs) => {
            log.push(`acquire ${permits} ${timeoutMs}`);
            return answers.shift() ?? 0;
          },
          release: async (permits, remainingMs) => {
            log.push(`release ${permits} ${remainingMs}`);
          },
          drain: async () => 7,
          read: async () => 3,
          close: () => log.push('close'),
        };
        return engine;
      },
    };
    return { store, log };
  }

  it('uses the store engine, awaiting its answers', async () => {
    const { store, log } = asyncStore([0, -40, 30, 25]);
    const rl = RateLimiter.of(
      'shared',
      { limitForPeriod: 9, timeoutDuration: 50 },
      { store, clock: fakeTimersClock },
    );
    await expect(rl.execute(() => 'a')).resolves.toBe('a');
    await expect(rl.execute(() => 'b')).rejects.toMatchObject({ retryAfterMs: 40 });
    const c = track(rl.execute(() => 'c'));
    await vi.advanceTimersByTimeAsync(10);
    const controller = new AbortController();
    const d = track(rl.acquirePermission(2, controller.signal));
    await settle();
    controller.abort('bye');
    await settle();
    expect(d.error).toBe('bye');
    await vi.advanceTimersByTimeAsync(30);
    expect(c.value).toBe('c');
    await expect(rl.drainPermissions()).resolves.toBe(7);
    await expect(rl.getMetrics()).resolves.toEqual({ availablePermissions: 3, numberOfWaitingCalls: 0 });
    rl.changeLimitForPeriod(4);
    expect(log).toEqual([
      'create shared 9',
      'acquire 1 50',
      'acquire 1 50',
      'acquire 1 50',
      'acquire 2 50',
      'release 2 25',
      'close',
      'create shared 4',
    ]);
  });

  it('a caller that aborts while the store answers gets no permit and hands the reservation back', async () => {
    let answer!: (wait: number) => void;
    const released: number[] = [];
    const store: RateLimiterStore = {
      rateLimiter: () => ({
        acquire: () =>
          new Promise<number>((resolve) => {
            answer = resolve;
          }),
        release: (_permits, remainingMs) => {
          released.push(remainingMs);
        },
        drain: () => 0,
        read: () => 0,
        close: () => {},
      }),
    };
    const rl = RateLimiter.of('slow', {}, { store, clock: fakeTimersClock });
    const controller = new AbortController();
    const fn = vi.fn();
    const call = track(rl.execute(fn, controller.signal));
    controller.abort('late');
    answer(30);
    await settle();
    expect(call.error).toBe('late');
    expect(released).toEqual([30]);
    await vi.advanceTimersByTimeAsync(100);
    expect(fn).not.toHaveBeenCalled();
  });

  it('refuses a store that cannot hold rate limiters, naming the store and what it lacks', () => {
    expectBreakersOnlyStoreRefused(
      { kind: 'ratelimiter', holds: 'rate limiters', method: 'rateLimiter' },
      (store) => [
        // @ts-expect-error: a store without rateLimiter() is not a RateLimiterStore
        () => RateLimiter.of('x', { limitForPeriod: 1 }, { store }),
        // @ts-expect-error: the same through a registry
        () => RateLimiterRegistry.of({ store }).rateLimiter('x'),
      ],
    );
  });
});

describe('timers of waiting callers', () => {
  it('keep the process alive while waiting, and are gone once the caller aborts', async () => {
    const rl = RateLimiter.of('t', {
      limitForPeriod: 1,
      limitRefreshPeriod: 60_000,
      timeoutDuration: 60_000,
    });
    await rl.execute(() => 1);
    const before = activeTimeouts();
    const controller = new AbortController();
    const waiting = rl.execute(() => 1, controller.signal).catch(() => 'aborted');
    expect((await rl.getMetrics()).numberOfWaitingCalls).toBe(1);
    expect(activeTimeouts()).toBe(before + 1);
    controller.abort();
    expect(activeTimeouts()).toBe(before);
    await expect(waiting).resolves.toBe('aborted');
  });
});

describe('RateLimiter properties', () => {
  it('a caller is rejected at once or runs within its timeout; aborted callers never run; the limit holds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('fixed-window' as const, 'gcra' as const),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 120 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 40 }), abort: fc.boolean() }), { maxLength: 30 }),
        async (algorithm, limit, period, timeout, calls) => {
          vi.useFakeTimers({ now: 1_000 });
          const rl = RateLimiter.of(
            'p',
            { algorithm, limitForPeriod: limit, limitRefreshPeriod: period, timeoutDuration: timeout },
            { clock: fakeTimersClock },
          );
          const runs: { call: number; at: number }[] = [];
          const calledAt: number[] = [];
          const aborted = new Set<number>();
          let toAbort: { i: number; controller: AbortController; t: { done: boolean } }[] = [];
          for (const [i, call] of calls.entries()) {
            await vi.advanceTimersByTimeAsync(Math.floor(call.dt / 2));
            for (const a of toAbort) {
              if (a.t.done) continue;
              a.controller.abort();
              aborted.add(a.i);
            }
            toAbort = [];
            await vi.advanceTimersByTimeAsync(call.dt - Math.floor(call.dt / 2));
            const controller = new AbortController();
            calledAt.push(Date.now());
            const t = track(rl.execute(() => runs.push({ call: i, at: Date.now() }), controller.signal));
            await settle();
            if (t.error !== undefined) {
              // Rejected without any time passing, and only when the wait exceeded the timeout.
              expect(t.error).toBeInstanceOf(RequestNotPermittedError);
              expect((t.error as RequestNotPermittedError).retryAfterMs).toBeGreaterThan(timeout);
            } else if (!t.done && call.abort) {
              toAbort.push({ i, controller, t });
            }
          }
          await vi.advanceTimersByTimeAsync(10_000);
          for (const run of runs) {
            expect(aborted.has(run.call)).toBe(false);
            expect(run.at - calledAt[run.call]).toBeLessThanOrEqual(timeout);
          }
          // Every period (fixed-window) or every window of one period (gcra) holds at most `limit`.
          for (const { at } of runs) {
            const from = algorithm === 'gcra' ? at : Math.floor(at / period) * period;
            expect(runs.filter((r) => r.at >= from && r.at < from + period).length).toBeLessThanOrEqual(
              limit,
            );
          }
          expect((await rl.getMetrics()).numberOfWaitingCalls).toBe(0);
          vi.useRealTimers();
        },
      ),
      { numRuns: 150 },
    );
  });
});
