import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../common/clock.js';
import {
  BreakwaterError,
  ConfigError,
  MaxRetriesExceededError,
  RetryIntervalError,
} from '../common/errors.js';
import { NEVER_ABORTED } from '../common/signal.js';
import { MAX_TIMER_DELAY_MS } from '../common/timers.js';
import { IntervalFunction } from './interval-function.js';
import { Retry, type RetryOptions } from './retry.js';
import type { RetryEvent } from './retry-events.js';
import { RetryRegistry } from './retry-registry.js';

/** The metrics of a retry that has finished no call; a test adds the counts it expects. */
const NO_CALLS = {
  numberOfSuccessfulCallsWithoutRetryAttempt: 0,
  numberOfSuccessfulCallsWithRetryAttempt: 0,
  numberOfFailedCallsWithoutRetryAttempt: 0,
  numberOfFailedCallsWithRetryAttempt: 0,
};

class TransientError extends Error {}
class FatalError extends Error {}

/** A sleep that returns at once and remembers what it was asked to wait. */
function recordingSleep(): { waits: number[]; sleep: NonNullable<RetryOptions['sleep']> } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms) => {
      waits.push(ms);
    },
  };
}

/** A supplier that plays `script` in order: an Error is thrown, anything else returned. */
function scripted<T>(...script: (T | Error)[]) {
  const fn = vi.fn(async (_signal: AbortSignal): Promise<T> => {
    const next = script[Math.min(fn.mock.calls.length - 1, script.length - 1)]!;
    if (next instanceof Error) throw next;
    return next;
  });
  return fn;
}

function collect(retry: Retry): RetryEvent[] {
  const events: RetryEvent[] = [];
  retry.onEvent((e) => events.push(e));
  return events;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Retry config', () => {
  it('has Resilience4j defaults', () => {
    const retry = Retry.ofDefaults('r');
    expect(retry.name).toBe('r');
    expect(retry.config.maxAttempts).toBe(3);
    expect(retry.config.waitDuration).toBe(500);
    expect(retry.config.failAfterMaxAttempts).toBe(false);
    expect(retry.config.retryOnResult).toBeUndefined();
    expect(retry.config.intervalFunction(1)).toBe(500);
    expect(Object.isFrozen(retry.config)).toBe(true);
  });

  it('rejects bad values, naming the field', () => {
    expect(() => Retry.of('r', { maxAttempts: 0 })).toThrow(/'maxAttempts' must be an integer >= 1, got 0/);
    expect(() => Retry.of('r', { maxAttempts: 1.5 })).toThrow(ConfigError);
    expect(() => Retry.of('r', { waitDuration: -1 })).toThrow(/waitDuration/);
    expect(() => Retry.of('r', { failAfterMaxAttempts: 'yes' as unknown as boolean })).toThrow(
      /failAfterMaxAttempts/,
    );
    expect(() => Retry.of('r', { retryOnResult: 3 as unknown as () => boolean })).toThrow(/retryOnResult/);
    expect(() => Retry.of('r', { retryExceptions: [3] as unknown as [] })).toThrow(/retryExceptions/);
    expect(() => Retry.of('r', { maxAttempt: 3 } as unknown as object)).toThrow(
      /'maxAttempt' is not an option/,
    );
    expect(() => Retry.of('', {})).toThrow(ConfigError);
  });

  it('refuses waitDuration together with intervalFunction', () => {
    expect(() => Retry.of('r', { waitDuration: 10, intervalFunction: IntervalFunction.of(10) })).toThrow(
      /intervalFunction/,
    );
  });

  it('validates options', () => {
    expect(() => Retry.of('r', {}, { clock: {} as never })).toThrow(/clock/);
    expect(() => Retry.of('r', {}, { sleep: 5 as never })).toThrow(/sleep/);
  });

  it('does not write to the config it was given', () => {
    const config = Object.freeze({ maxAttempts: 2 });
    expect(Retry.of('r', config).config.maxAttempts).toBe(2);
  });
});

describe('Retry.execute', () => {
  it('calls once and counts a success without retry', async () => {
    const fn = scripted('ok');
    const retry = Retry.of('r');
    const events = collect(retry);
    await expect(retry.execute(fn)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(events).toEqual([]); // as in Resilience4j: a first-try success publishes nothing
    expect(await retry.getMetrics()).toEqual({ ...NO_CALLS, numberOfSuccessfulCallsWithoutRetryAttempt: 1 });
  });

  it('retries failures, waiting waitDuration between attempts', async () => {
    const { waits, sleep } = recordingSleep();
    const clock = new ManualClock(1000);
    const retry = Retry.of('r', { waitDuration: 200 }, { sleep, clock });
    const events = collect(retry);
    const boom = new TransientError('boom');
    const fn = scripted(boom, boom, 'ok');
    await expect(retry.execute(fn)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
    expect(waits).toEqual([200, 200]);
    expect(events).toEqual([
      {
        kind: 'retry',
        type: 'RETRY',
        name: 'r',
        at: 1000,
        attempt: 1,
        waitMs: 200,
        reason: 'error',
        error: boom,
      },
      {
        kind: 'retry',
        type: 'RETRY',
        name: 'r',
        at: 1000,
        attempt: 2,
        waitMs: 200,
        reason: 'error',
        error: boom,
      },
      { kind: 'retry', type: 'SUCCESS', name: 'r', at: 1000, attempts: 3 },
    ]);
    expect((await retry.getMetrics()).numberOfSuccessfulCallsWithRetryAttempt).toBe(1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { waits, sleep } = recordingSleep();
    const retry = Retry.of('r', { maxAttempts: 4, waitDuration: 1 }, { sleep });
    const events = collect(retry);
    const last = new TransientError('last');
    const fn = scripted(new TransientError('1'), new TransientError('2'), new TransientError('3'), last);
    await expect(retry.execute(fn)).rejects.toBe(last);
    expect(fn).toHaveBeenCalledTimes(4);
    expect(waits).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: 'ERROR', attempts: 4, error: last });
    expect((await retry.getMetrics()).numberOfFailedCallsWithRetryAttempt).toBe(1);
  });

  it('maxAttempts 1 never retries', async () => {
    const { waits, sleep } = recordingSleep();
    const retry = Retry.of('r', { maxAttempts: 1 }, { sleep });
    const events = collect(retry);
    const fn = scripted(new TransientError('x'));
    await expect(retry.execute(fn)).rejects.toThrow('x');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(waits).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['ERROR']);
    expect((await retry.getMetrics()).numberOfFailedCallsWithoutRetryAttempt).toBe(1);
  });

  it('waits what the interval function says for each attempt', async () => {
    const { waits, sleep } = recordingSleep();
    const retry = Retry.of(
      'r',
      { maxAttempts: 4, intervalFunction: IntervalFunction.ofExponentialBackoff(100, 2) },
      { sleep },
    );
    await expect(retry.execute(scripted(new Error('a')))).rejects.toThrow('a');
    expect(waits).toEqual([100, 200, 400]);
  });

  it('gives every call its own sequence of a stateful interval function', async () => {
    const { waits, sleep } = recordingSleep();
    let sequences = 0;
    const intervalFunction = Object.assign(() => -1, {
      newSequence: () => {
        const offset = ++sequences * 1000;
        return (attempt: number) => offset + attempt;
      },
    });
    const retry = Retry.of('r', { maxAttempts: 3, intervalFunction }, { sleep });
    await Promise.allSettled([
      retry.execute(scripted(new Error('a'))),
      retry.execute(scripted(new Error('b'))),
    ]);
    expect(sequences).toBe(2);
    expect(waits.sort((a, b) => a - b)).toEqual([1001, 1002, 2001, 2002]);
  });

  it('runs decorrelated jitter per call', async () => {
    const { waits, sleep } = recordingSleep();
    const jitter = IntervalFunction.ofDecorrelatedJitter(10, 10_000, () => 1);
    const retry = Retry.of('r', { maxAttempts: 4, intervalFunction: jitter }, { sleep });
    await Promise.allSettled([
      retry.execute(scripted(new Error('a'))),
      retry.execute(scripted(new Error('b'))),
    ]);
    expect(waits.sort((a, b) => a - b)).toEqual([30, 30, 90, 90, 270, 270]);
  });

  it('retries an error thrown synchronously', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of('r', {}, { sleep });
    let calls = 0;
    const value = await retry.execute(() => {
      calls++;
      if (calls < 3) throw new Error('sync');
      return 7;
    });
    expect(value).toBe(7);
    expect(calls).toBe(3);
  });

  it('hands fn the caller signal, or one that never aborts', async () => {
    const retry = Retry.of('r');
    const seen: AbortSignal[] = [];
    await retry.execute(async (s) => {
      seen.push(s);
    });
    const controller = new AbortController();
    await retry.execute(async (s) => {
      seen.push(s);
    }, controller.signal);
    expect(seen).toEqual([NEVER_ABORTED, controller.signal]);
  });
});

describe('Retry with an interval function that gives no usable wait', () => {
  /** Runs one call whose interval function answers `interval` after attempt `badAt`, 10 ms before. */
  async function runWith(interval: () => unknown, badAt = 1) {
    const { waits, sleep } = recordingSleep();
    const intervalFunction = (n: number) => (n < badAt ? 10 : interval()) as number;
    const retry = Retry.of('r', { maxAttempts: 5, intervalFunction }, { sleep });
    const events = collect(retry);
    const errors = [new TransientError('first'), new TransientError('second'), new TransientError('third')];
    const fn = scripted<string>(...errors);
    const error = await retry.execute(fn).then(
      () => expect.fail('the call should have failed'),
      (e: unknown) => e as RetryIntervalError,
    );
    return { error, errors, fn, waits, events, metrics: await retry.getMetrics() };
  }

  it.each([
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['NaN', Number.NaN],
    ['a negative number', -5],
    ['a numeric string', '100'],
    ['undefined (a function without return)', undefined],
    ['null', null],
    ['a bigint', 10n],
  ])("ends the call on %s with a RetryIntervalError whose cause is the attempt's error", async (_, value) => {
    const { error, errors, fn, waits, events, metrics } = await runWith(() => value);
    expect(error).toBeInstanceOf(RetryIntervalError);
    expect(error).toBeInstanceOf(BreakwaterError);
    expect(error.name).toBe('RetryIntervalError');
    expect(error.retryName).toBe('r');
    expect(error.attempt).toBe(1);
    expect(Object.is(error.interval, value)).toBe(true);
    expect(error.threw).toBe(false);
    expect(error.cause).toBe(errors[0]);
    expect(error.message).toMatch(
      /^Retry 'r': intervalFunction\(1\) returned .+, not a number of milliseconds >= 0/,
    );
    // Neither a retry storm (no wait) nor a wait forever: no further attempt, no wait.
    expect(fn).toHaveBeenCalledTimes(1);
    expect(waits).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['ERROR']);
    expect(events[0]).toMatchObject({ type: 'ERROR', attempts: 1, error });
    expect(metrics.numberOfFailedCallsWithoutRetryAttempt).toBe(1);
  });

  it("names the attempt after which the wait was asked, and keeps that attempt's error", async () => {
    const { error, errors, fn, waits, events, metrics } = await runWith(() => Number.NaN, 3);
    expect(error).toBeInstanceOf(RetryIntervalError);
    expect(error.attempt).toBe(3);
    expect(error.cause).toBe(errors[2]);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(waits).toEqual([10, 10]);
    expect(events.map((e) => e.type)).toEqual(['RETRY', 'RETRY', 'ERROR']);
    expect(metrics.numberOfFailedCallsWithRetryAttempt).toBe(1);
  });

  it('ends the call when the interval function throws, with both errors at hand', async () => {
    const bug = new Error('interval bug');
    const { error, errors, fn, waits } = await runWith(() => {
      throw bug;
    }, 2);
    expect(error).toBeInstanceOf(RetryIntervalError);
    expect(error.threw).toBe(true);
    expect(error.intervalError).toBe(bug);
    expect(error.interval).toBeUndefined();
    expect(error.cause).toBe(errors[1]);
    expect(error.message).toMatch(/^Retry 'r': intervalFunction\(2\) threw Error: interval bug/);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(waits).toEqual([10]);
  });

  it('keeps the last result when the retry was for a result', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of(
      'r',
      { maxAttempts: 3, retryOnResult: (r) => r === 'bad', intervalFunction: () => Number.NaN },
      { sleep },
    );
    const error = (await retry.execute(async () => 'bad').catch((e: unknown) => e)) as RetryIntervalError;
    expect(error).toBeInstanceOf(RetryIntervalError);
    expect(error.lastResult).toBe('bad');
    expect(error.cause).toBeUndefined();
  });

  it('waits the longest a timer can hold for a finite wait beyond it, and nothing for 0', async () => {
    const { waits, sleep } = recordingSleep();
    const values = [MAX_TIMER_DELAY_MS + 1, Number.MAX_VALUE, 0, -0];
    const retry = Retry.of('r', { maxAttempts: 5, intervalFunction: (n) => values[n - 1]! }, { sleep });
    const events = collect(retry);
    await expect(retry.execute(scripted(new Error('a')))).rejects.toThrow('a');
    expect(waits).toEqual([MAX_TIMER_DELAY_MS, MAX_TIMER_DELAY_MS]);
    expect(events.filter((e) => e.type === 'RETRY').map((e) => e.waitMs)).toEqual([
      MAX_TIMER_DELAY_MS,
      MAX_TIMER_DELAY_MS,
      0,
      0,
    ]);
  });
});

describe('Retry error classification', () => {
  it('retries only retryExceptions; others are rethrown at once as IGNORED_ERROR', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of('r', { retryExceptions: [TransientError] }, { sleep });
    const events = collect(retry);
    const fatal = new FatalError('no');
    const fn = scripted(fatal);
    await expect(retry.execute(fn)).rejects.toBe(fatal);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(events).toEqual([
      expect.objectContaining({ kind: 'retry', type: 'IGNORED_ERROR', name: 'r', attempts: 1, error: fatal }),
    ]);
    expect((await retry.getMetrics()).numberOfFailedCallsWithoutRetryAttempt).toBe(1);

    const transient = scripted(new TransientError('t'), 'ok');
    await expect(retry.execute(transient)).resolves.toBe('ok');
    expect(transient).toHaveBeenCalledTimes(2);
  });

  it('accepts a predicate for retryExceptions', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of('r', { retryExceptions: (e) => (e as Error).message === 'again' }, { sleep });
    const fn = scripted(new Error('again'), new Error('stop'));
    await expect(retry.execute(fn)).rejects.toThrow('stop');
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('ignoreExceptions wins over retryExceptions', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of('r', { retryExceptions: [Error], ignoreExceptions: [FatalError] }, { sleep });
    const fn = scripted(new TransientError('t'), new FatalError('f'));
    await expect(retry.execute(fn)).rejects.toBeInstanceOf(FatalError);
    expect(fn).toHaveBeenCalledTimes(2);
    // It had retried once before the ignored error: a failure with a retry attempt.
    expect((await retry.getMetrics()).numberOfFailedCallsWithRetryAttempt).toBe(1);
  });

  it('does not retry when a predicate throws', async () => {
    const retry = Retry.of('r', {
      retryExceptions: () => {
        throw new Error('predicate bug');
      },
    });
    const fn = scripted(new TransientError('t'));
    await expect(retry.execute(fn)).rejects.toBeInstanceOf(TransientError);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('Retry on result', () => {
  it('retries results that retryOnResult rejects, then returns the good one', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of('r', { retryOnResult: (r) => r === 'busy' }, { sleep });
    const events = collect(retry);
    const fn = scripted('busy', 'done');
    await expect(retry.execute(fn)).resolves.toBe('done');
    expect(events.map((e) => e.type)).toEqual(['RETRY', 'SUCCESS']);
    expect(events[0]).toMatchObject({ reason: 'result', result: 'busy', attempt: 1 });
    expect((await retry.getMetrics()).numberOfSuccessfulCallsWithRetryAttempt).toBe(1);
  });

  it('returns the last result when attempts run out (failAfterMaxAttempts false)', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of('r', { retryOnResult: (r) => r === 'busy' }, { sleep });
    const events = collect(retry);
    const fn = scripted('busy');
    await expect(retry.execute(fn)).resolves.toBe('busy');
    expect(fn).toHaveBeenCalledTimes(3);
    const error = events.at(-1);
    expect(error).toMatchObject({ type: 'ERROR', attempts: 3 });
    expect((error as { error: unknown }).error).toBeInstanceOf(MaxRetriesExceededError);
    expect((await retry.getMetrics()).numberOfFailedCallsWithRetryAttempt).toBe(1);
  });

  it('rejects with MaxRetriesExceededError when failAfterMaxAttempts is true', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of(
      'pay',
      { maxAttempts: 2, retryOnResult: (r) => r === 'busy', failAfterMaxAttempts: true },
      { sleep },
    );
    const error = await retry.execute(scripted('busy')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaxRetriesExceededError);
    expect(error).toMatchObject({
      name: 'MaxRetriesExceededError',
      retryName: 'pay',
      attempts: 2,
      lastResult: 'busy',
    });
  });

  it('accepts the result when retryOnResult throws', async () => {
    const retry = Retry.of('r', {
      retryOnResult: () => {
        throw new Error('bug');
      },
    });
    const fn = scripted('x');
    await expect(retry.execute(fn)).resolves.toBe('x');
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('Retry and the caller signal', () => {
  it('rejects at once when the signal is already aborted, without calling fn', async () => {
    const retry = Retry.of('r');
    const fn = scripted('x');
    const reason = new Error('gone');
    await expect(retry.execute(fn, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
  });

  it('cuts the wait short: rejects with the reason, clears the timer, no further attempt', async () => {
    vi.useFakeTimers();
    const retry = Retry.of('r', { waitDuration: 10_000 });
    const controller = new AbortController();
    const fn = scripted(new TransientError('t'), 'ok');
    const result = retry.execute(fn, controller.signal);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(await retry.getMetrics()).toEqual(NO_CALLS);
  });

  it('waits with the default timer when not aborted', async () => {
    vi.useFakeTimers();
    const retry = Retry.of('r', { waitDuration: 1000 });
    const fn = scripted(new TransientError('t'), 'ok');
    const result = retry.execute(fn);
    await vi.advanceTimersByTimeAsync(999);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once when the caller aborts during an attempt that ignores the signal', async () => {
    const retry = Retry.of('r');
    const controller = new AbortController();
    let finish: (v: string) => void = () => {};
    const fn = vi.fn(() => new Promise<string>((resolve) => (finish = resolve)));
    const result = retry.execute(fn, controller.signal);
    controller.abort('stop');
    await expect(result).rejects.toBe('stop');
    finish('late');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not start another attempt after an abort, even with a sleep that ignores the signal', async () => {
    const controller = new AbortController();
    const retry = Retry.of('r', {}, { sleep: () => new Promise(() => {}) });
    const fn = scripted(new TransientError('t'), 'ok');
    const result = retry.execute(fn, controller.signal);
    await new Promise((r) => setImmediate(r));
    controller.abort('stop');
    await expect(result).rejects.toBe('stop');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('removes its abort listener when the call ends', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of('r', {}, { sleep });
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, 'addEventListener');
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    await retry.execute(scripted(new Error('x'), 'ok'), controller.signal);
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledWith('abort', add.mock.calls[0]![1]);
  });
});

describe('Retry events and decorate', () => {
  it('stops publishing to a listener that unsubscribed', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of('r', {}, { sleep });
    const seen: string[] = [];
    const off = retry.on('RETRY', (e) => seen.push(`${e.type}:${e.attempt}`));
    await retry.execute(scripted(new Error('x'), 'ok'));
    off();
    await retry.execute(scripted(new Error('x'), 'ok'));
    expect(seen).toEqual(['RETRY:1']);
  });

  it('decorate keeps arguments and return type', async () => {
    const { sleep } = recordingSleep();
    const retry = Retry.of('r', {}, { sleep });
    let calls = 0;
    const add = retry.decorate(async (a: number, b: number) => {
      calls++;
      if (calls === 1) throw new Error('once');
      return a + b;
    });
    const sum: number = await add(2, 3);
    expect(sum).toBe(5);
    expect(calls).toBe(2);
  });
});

describe('RetryRegistry', () => {
  it('returns one instance per name, built from named configs over the default', () => {
    const registry = RetryRegistry.of({
      configs: { default: { maxAttempts: 5 }, quick: { waitDuration: 10 } },
    });
    const a = registry.retry('a');
    expect(registry.retry('a')).toBe(a);
    expect(a.config.maxAttempts).toBe(5);
    const q = registry.retry('q', 'quick');
    expect(q.config).toMatchObject({ maxAttempts: 5, waitDuration: 10 });
    expect(registry.retry('c', { maxAttempts: 2 }).config.maxAttempts).toBe(2);
    expect(() => registry.retry('d', 'missing')).toThrow(ConfigError);
    expect(registry.getAllRetries().map((r) => r.name)).toEqual(['a', 'q', 'c']);
    expect(registry.find('a')).toBe(a);
    expect(registry.remove('a')).toBe(a);
    expect(registry.find('a')).toBeUndefined();
    expect(RetryRegistry.ofDefaults().retry('x').config.maxAttempts).toBe(3);
  });

  it('lets a named config switch between waitDuration and intervalFunction', () => {
    const backoff = IntervalFunction.ofExponentialBackoff(10, 2);
    const registry = RetryRegistry.of({
      configs: { default: { waitDuration: 100 }, backoff: { intervalFunction: backoff } },
    });
    expect(registry.retry('a', 'backoff').config.intervalFunction).toBe(backoff);
    expect(registry.retry('b', { intervalFunction: backoff }).config.intervalFunction(2)).toBe(20);
    const fixed = RetryRegistry.of({ configs: { default: { intervalFunction: backoff } } });
    expect(fixed.retry('c', { waitDuration: 7 }).config.intervalFunction(3)).toBe(7);
    expect(() => fixed.retry('d', { waitDuration: 7, intervalFunction: backoff })).toThrow(ConfigError);
  });

  it('forwards events of retries created before and after subscribing', async () => {
    const { sleep } = recordingSleep();
    const registry = RetryRegistry.of({ sleep });
    const first = registry.retry('first');
    const names: string[] = [];
    const off = registry.onEvent((e) => names.push(`${e.name}:${e.type}`));
    const second = registry.retry('second');
    await first.execute(scripted(new Error('x'), 1));
    await second.execute(scripted(new Error('x'), 1));
    off();
    await first.execute(scripted(new Error('x'), 1));
    expect(names).toEqual(['first:RETRY', 'first:SUCCESS', 'second:RETRY', 'second:SUCCESS']);
  });
});

type Step = 'ok' | 'retryable' | 'ignored' | 'badResult';

describe('Retry properties', () => {
  it('never calls fn more than maxAttempts times, and stops exactly where the model says', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.constantFrom<Step>('ok', 'retryable', 'ignored', 'badResult'), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.boolean(),
        async (maxAttempts, script, failAfterMaxAttempts) => {
          const { waits, sleep } = recordingSleep();
          const retry = Retry.of(
            'p',
            {
              maxAttempts,
              ignoreExceptions: [FatalError],
              retryOnResult: (r) => r === 'bad',
              failAfterMaxAttempts,
            },
            { sleep },
          );
          let calls = 0;
          const outcome = await retry
            .execute(async () => {
              const step = script[Math.min(calls, script.length - 1)]!;
              calls++;
              if (step === 'retryable') throw new TransientError();
              if (step === 'ignored') throw new FatalError();
              return step === 'ok' ? 'good' : 'bad';
            })
            .then(
              (v) => ({ ok: true as const, v }),
              (e: unknown) => ({ ok: false as const, e }),
            );

          // The model: run the script until a terminal step or maxAttempts.
          let expected = 0;
          for (;;) {
            const step = script[Math.min(expected, script.length - 1)]!;
            expected++;
            if (step === 'ok' || step === 'ignored' || expected === maxAttempts) break;
          }
          expect(calls).toBeLessThanOrEqual(maxAttempts);
          expect(calls).toBe(expected);
          expect(waits).toHaveLength(calls - 1);
          const last = script[Math.min(calls - 1, script.length - 1)]!;
          if (last === 'ok') expect(outcome).toEqual({ ok: true, v: 'good' });
          if (last === 'badResult' && !failAfterMaxAttempts) expect(outcome).toEqual({ ok: true, v: 'bad' });
          if (last === 'badResult' && failAfterMaxAttempts) {
            expect(outcome.ok).toBe(false);
            expect((outcome as { e: unknown }).e).toBeInstanceOf(MaxRetriesExceededError);
          }
          const m = await retry.getMetrics();
          const counted =
            m.numberOfSuccessfulCallsWithoutRetryAttempt +
            m.numberOfSuccessfulCallsWithRetryAttempt +
            m.numberOfFailedCallsWithoutRetryAttempt +
            m.numberOfFailedCallsWithRetryAttempt;
          expect(counted).toBe(1);
        },
      ),
    );
  });
});
