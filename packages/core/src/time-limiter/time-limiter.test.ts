import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../common/clock.js';
import { ConfigError, TimeoutError } from '../common/errors.js';
import { pendingDeadlines } from '../common/keep-alive.js';
import { NEVER_ABORTED } from '../common/signal.js';
import { TimeLimiter } from './time-limiter.js';
import type { TimeLimiterEvent } from './time-limiter-events.js';
import { TimeLimiterRegistry } from './time-limiter-registry.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** The metrics of a time limiter that has finished no call; a test adds the counts it expects. */
const NO_CALLS = { numberOfSuccessfulCalls: 0, numberOfFailedCalls: 0, numberOfTimedOutCalls: 0 };

function collect(tl: TimeLimiter): TimeLimiterEvent[] {
  const events: TimeLimiterEvent[] = [];
  tl.onEvent((e) => events.push(e));
  return events;
}

/** A promise that settles with `value` (or rejects with an Error) after `ms` of (fake) time. */
function after<T>(ms: number, value: T | Error): Promise<T> {
  return new Promise((resolve, reject) =>
    setTimeout(() => (value instanceof Error ? reject(value) : resolve(value)), ms),
  );
}

/**
 * Starts a call on `tl` that returns `value` after `ms` of (fake) time. `signal()` is the signal the
 * call was handed; `settled` is its value, or its error once it rejects.
 */
function startCall(tl: TimeLimiter, ms: number, value: unknown = 'late') {
  let handed: AbortSignal | undefined;
  const settled = tl
    .execute((signal) => {
      handed = signal;
      return after(ms, value);
    })
    .catch((e: unknown) => e);
  return { signal: () => handed!, settled };
}

describe('TimeLimiter config', () => {
  it('has Resilience4j defaults', () => {
    const tl = TimeLimiter.ofDefaults('t');
    expect(tl.name).toBe('t');
    expect(tl.config).toEqual({ timeoutDuration: 1000, cancelRunningFuture: true });
    expect(Object.isFrozen(tl.config)).toBe(true);
  });

  it('rejects bad values, naming the field', () => {
    expect(() => TimeLimiter.of('t', { timeoutDuration: 0 })).toThrow(
      /'timeoutDuration' must be a number > 0/,
    );
    expect(() => TimeLimiter.of('t', { timeoutDuration: -1 })).toThrow(ConfigError);
    expect(() => TimeLimiter.of('t', { timeoutDuration: 2 ** 31 })).toThrow(/timeoutDuration/);
    expect(() => TimeLimiter.of('t', { cancelRunningFuture: 1 as unknown as boolean })).toThrow(
      /cancelRunningFuture/,
    );
    expect(() => TimeLimiter.of('t', { timeout: 5 } as unknown as object)).toThrow(
      /'timeout' is not an option/,
    );
    expect(() => TimeLimiter.of('t', {}, { clock: { now: 1 } as never })).toThrow(/clock/);
  });
});

describe('TimeLimiter.execute', () => {
  it('returns a value that comes in time, counts it, and clears its timer', async () => {
    vi.useFakeTimers();
    const clock = new ManualClock(42);
    const tl = TimeLimiter.of('t', { timeoutDuration: 100 }, { clock });
    const events = collect(tl);
    const result = tl.execute(() => after(99, 'v'));
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(99);
    await expect(result).resolves.toBe('v');
    expect(vi.getTimerCount()).toBe(0);
    expect(events).toEqual([{ kind: 'timelimiter', type: 'SUCCESS', name: 't', at: 42 }]);
    expect(await tl.getMetrics()).toEqual({ ...NO_CALLS, numberOfSuccessfulCalls: 1 });
  });

  it('passes an error that comes in time through, and counts it', async () => {
    vi.useFakeTimers();
    const tl = TimeLimiter.of('t', { timeoutDuration: 100 });
    const events = collect(tl);
    const boom = new Error('boom');
    const result = tl.execute(() => after(50, boom));
    const settled = expect(result).rejects.toBe(boom);
    await vi.advanceTimersByTimeAsync(50);
    await settled;
    expect(vi.getTimerCount()).toBe(0);
    expect(events).toEqual([expect.objectContaining({ type: 'ERROR', error: boom })]);
    expect((await tl.getMetrics()).numberOfFailedCalls).toBe(1);
  });

  it('rejects with TimeoutError on expiry and aborts the signal handed to fn with it', async () => {
    vi.useFakeTimers();
    const tl = TimeLimiter.of('slow', { timeoutDuration: 100 });
    const events = collect(tl);
    const call = startCall(tl, 500);
    await vi.advanceTimersByTimeAsync(99);
    expect(call.signal().aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const timeout = await call.settled;
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect(timeout).toMatchObject({ name: 'TimeoutError', timeLimiterName: 'slow', timeoutMs: 100 });
    expect(call.signal().aborted).toBe(true);
    expect(call.signal().reason).toBe(timeout);
    expect(events).toEqual([expect.objectContaining({ type: 'TIMEOUT', timeoutMs: 100 })]);
    // The late value changes nothing.
    await vi.advanceTimersByTimeAsync(400);
    expect(await tl.getMetrics()).toEqual({ ...NO_CALLS, numberOfTimedOutCalls: 1 });
  });

  it('with cancelRunningFuture false, times out without aborting fn', async () => {
    vi.useFakeTimers();
    const tl = TimeLimiter.of('t', { timeoutDuration: 10, cancelRunningFuture: false });
    const call = startCall(tl, 50);
    await vi.advanceTimersByTimeAsync(10);
    expect(await call.settled).toBeInstanceOf(TimeoutError);
    expect(call.signal()).toBe(NEVER_ABORTED);
    await vi.advanceTimersByTimeAsync(50);
  });

  it('with cancelRunningFuture false, hands fn the caller signal itself', async () => {
    const tl = TimeLimiter.of('t', { cancelRunningFuture: false });
    const controller = new AbortController();
    await expect(tl.execute(async (s) => s, controller.signal)).resolves.toBe(controller.signal);
  });

  it('rejects at once with the caller reason, aborts fn, clears the timer and counts nothing', async () => {
    vi.useFakeTimers();
    const tl = TimeLimiter.of('t', { timeoutDuration: 1000 });
    const events = collect(tl);
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const result = tl.execute((signal) => {
      seen = signal;
      return new Promise<never>(() => {});
    }, controller.signal);
    expect(seen).not.toBe(controller.signal);
    controller.abort('caller left');
    await expect(result).rejects.toBe('caller left');
    expect(seen!.reason).toBe('caller left');
    expect(vi.getTimerCount()).toBe(0);
    expect(events).toEqual([]);
    expect(await tl.getMetrics()).toEqual(NO_CALLS);
  });

  it('rejects at once for an aborted caller signal without calling fn', async () => {
    const tl = TimeLimiter.of('t');
    const fn = vi.fn(async () => 1);
    await expect(tl.execute(fn, AbortSignal.abort('no'))).rejects.toBe('no');
    expect(fn).not.toHaveBeenCalled();
  });

  it('removes its listener from the caller signal when the call settles', async () => {
    const tl = TimeLimiter.of('t');
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, 'addEventListener');
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    await tl.execute(async () => 1, controller.signal);
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledWith('abort', add.mock.calls[0]![1]);
  });

  it('does not listen to the never-aborting signal', async () => {
    const add = vi.spyOn(EventTarget.prototype, 'addEventListener');
    await TimeLimiter.of('t').execute(async () => 1, NEVER_ABORTED);
    expect(add.mock.contexts).not.toContain(NEVER_ABORTED);
  });

  it('handles a synchronous throw or value without a timer', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const tl = TimeLimiter.of('t');
    const boom = new Error('sync');
    await expect(
      tl.execute(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    await expect(tl.execute(() => 5)).resolves.toBe(5);
    expect(spy).not.toHaveBeenCalled();
    expect(await tl.getMetrics()).toEqual({
      ...NO_CALLS,
      numberOfSuccessfulCalls: 1,
      numberOfFailedCalls: 1,
    });
  });

  it('counts a pending call as keeping the process alive until it settles (one ref-ed keeper, not a timer per call)', async () => {
    const tl = TimeLimiter.of('t', { timeoutDuration: 5000 });
    const controller = new AbortController();
    const before = pendingDeadlines();
    const result = tl.execute(() => new Promise(() => {}), controller.signal);
    expect(pendingDeadlines()).toBe(before + 1);
    controller.abort();
    await expect(result).rejects.toBeDefined();
    // Released as the call settles: nothing of it is left to hold the process (test/oneshot shows
    // a hung call in a bare process still ending in TimeoutError).
    expect(pendingDeadlines()).toBe(before);
  });

  it('accepts a thenable that is not a native promise', async () => {
    const tl = TimeLimiter.of('t');
    // biome-ignore lint/suspicious/noThenProperty: a hand-made thenable is what this test is about.
    const thenable: PromiseLike<number> = { then: (ok) => Promise.resolve(ok?.(9)) as never };
    await expect(tl.execute(() => thenable)).resolves.toBe(9);
  });

  it('decorate keeps arguments and return type', async () => {
    const tl = TimeLimiter.of('t');
    const greet = tl.decorate(async (name: string) => `hi ${name}`);
    const text: string = await greet('ada');
    expect(text).toBe('hi ada');
  });

  it('on(type) listens to one event type until unsubscribed', async () => {
    const tl = TimeLimiter.of('t');
    const types: string[] = [];
    const off = tl.on('ERROR', (e) => types.push(e.type));
    await tl.execute(async () => 1);
    await tl.execute(async () => Promise.reject(new Error('x'))).catch(() => {});
    off();
    await tl.execute(async () => Promise.reject(new Error('x'))).catch(() => {});
    expect(types).toEqual(['ERROR']);
  });
});

describe('TimeLimiter signals', () => {
  /** Under fake timers, runs a call of 20 ms on `tl` (timeout 10 ms); the signal it was handed. */
  async function signalOfTimedOutCall(tl: TimeLimiter): Promise<AbortSignal> {
    const call = startCall(tl, 20, 1);
    await vi.advanceTimersByTimeAsync(20);
    await call.settled;
    return call.signal();
  }

  it('hands every call its own signal, which no later call can abort', async () => {
    vi.useFakeTimers();
    const tl = TimeLimiter.of('t', { timeoutDuration: 10 });
    // Settled in time, and nobody listened to its signal; the caller keeps it and polls it later.
    const kept = await tl.execute(async (s) => s);
    const later = await signalOfTimedOutCall(tl);
    expect(later).not.toBe(kept);
    expect(later.aborted).toBe(true);
    expect(kept.aborted).toBe(false);
  });

  it('never reuses a signal that is still listened to or followed', async () => {
    const tl = TimeLimiter.of('t');
    const listened = await tl.execute(async (s) => {
      s.addEventListener('abort', () => {});
      return s;
    });
    const followed = await tl.execute(async (s) => {
      AbortSignal.any([s]);
      return s;
    });
    const handled = await tl.execute(async (s) => {
      s.onabort = () => {};
      return s;
    });
    const next = [
      await tl.execute(async (s) => s),
      await tl.execute(async (s) => s),
      await tl.execute(async (s) => s),
    ];
    for (const s of [listened, followed, handled]) expect(next).not.toContain(s);
  });

  it('never reuses a signal of a call that timed out or was aborted', async () => {
    vi.useFakeTimers();
    const tl = TimeLimiter.of('t', { timeoutDuration: 10 });
    const timedOut = await signalOfTimedOutCall(tl);
    const next = await tl.execute(async (s) => s);
    expect(next).not.toBe(timedOut);
    expect(next.aborted).toBe(false);
  });
});

describe('TimeLimiterRegistry', () => {
  it('returns one instance per name, built from named configs over the default', async () => {
    const registry = TimeLimiterRegistry.of({
      configs: { default: { timeoutDuration: 50 }, lax: { timeoutDuration: 5000 } },
    });
    const a = registry.timeLimiter('a');
    expect(registry.timeLimiter('a')).toBe(a);
    expect(a.config.timeoutDuration).toBe(50);
    expect(registry.timeLimiter('b', 'lax').config.timeoutDuration).toBe(5000);
    expect(registry.getAllTimeLimiters()).toHaveLength(2);
    const seen: string[] = [];
    registry.onEvent((e) => seen.push(`${e.name}:${e.type}`));
    await registry.timeLimiter('c').execute(async () => 1);
    expect(seen).toEqual(['c:SUCCESS']);
    expect(registry.remove('c')?.name).toBe('c');
    expect(registry.find('c')).toBeUndefined();
    expect(TimeLimiterRegistry.ofDefaults().timeLimiter('x').config.timeoutDuration).toBe(1000);
  });
});

type FnPlan = { kind: 'resolve' | 'reject'; at: number } | { kind: 'hang' } | { kind: 'throw' };

describe('TimeLimiter properties', () => {
  it('settles exactly once, as the first of value, timeout and abort, and leaves no timer of its own', async () => {
    const plan = fc.oneof(
      fc.record({
        kind: fc.constantFrom('resolve' as const, 'reject' as const),
        at: fc.integer({ min: 0, max: 300 }),
      }),
      fc.constant({ kind: 'hang' as const }),
      fc.constant({ kind: 'throw' as const }),
    );
    await fc.assert(
      fc.asyncProperty(
        plan,
        fc.integer({ min: 1, max: 300 }),
        fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
        fc.boolean(),
        async (fnPlan: FnPlan, timeout, abortAt, cancelRunningFuture) => {
          const fnTime = fnPlan.kind === 'throw' ? 0 : 'at' in fnPlan ? fnPlan.at : undefined;
          const times = [timeout, abortAt, fnTime].filter((t) => t !== undefined);
          fc.pre(new Set(times).size === times.length); // no ties: their order is not specified
          vi.useFakeTimers();
          try {
            const tl = TimeLimiter.of('p', { timeoutDuration: timeout, cancelRunningFuture });
            const controller = abortAt === undefined ? undefined : new AbortController();
            if (controller !== undefined) setTimeout(() => controller.abort('abort'), abortAt);
            let settlements = 0;
            let outcome: unknown;
            let timersLeft = -1;
            let settledAt = -1;
            tl.execute((): Promise<string> => {
              if (fnPlan.kind === 'throw') throw new Error('throw');
              if (fnPlan.kind === 'hang') return new Promise(() => {});
              return after(fnPlan.at, fnPlan.kind === 'resolve' ? 'value' : new Error('reject'));
            }, controller?.signal).then(
              (v) => {
                settlements++;
                outcome = v;
                settledAt = Date.now();
                timersLeft = vi.getTimerCount();
              },
              (e: unknown) => {
                settlements++;
                outcome = e instanceof TimeoutError ? 'timeout' : e instanceof Error ? e.message : e;
                settledAt = Date.now();
                timersLeft = vi.getTimerCount();
              },
            );
            const start = Date.now();
            await vi.advanceTimersByTimeAsync(1000);
            expect(settlements).toBe(1);

            const fnAt = fnPlan.kind === 'throw' ? 0 : 'at' in fnPlan ? fnPlan.at : Number.POSITIVE_INFINITY;
            const first = Math.min(fnAt, timeout, abortAt ?? Number.POSITIVE_INFINITY);
            const expected =
              first === fnAt
                ? fnPlan.kind === 'resolve'
                  ? 'value'
                  : fnPlan.kind
                : first === timeout
                  ? 'timeout'
                  : 'abort';
            expect(outcome).toBe(expected);
            // When it settled, only the test's own timers still pending may remain.
            const elapsed = settledAt - start;
            const othersPending =
              ('at' in fnPlan && fnPlan.at > elapsed ? 1 : 0) +
              (abortAt !== undefined && abortAt > elapsed ? 1 : 0);
            expect(timersLeft).toBe(othersPending);
            expect(vi.getTimerCount()).toBe(0);
            const m = await tl.getMetrics();
            const counted = m.numberOfSuccessfulCalls + m.numberOfFailedCalls + m.numberOfTimedOutCalls;
            expect(counted).toBe(expected === 'abort' ? 0 : 1);
          } finally {
            vi.useRealTimers();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
