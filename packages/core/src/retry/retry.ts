import type { Clock } from '../common/clock.js';
import {
  ConfigError,
  MaxRetriesExceededError,
  type RetriedFailure,
  RetryIntervalError,
} from '../common/errors.js';
import { PolicyBase } from '../common/policy-base.js';
import { policySubject } from '../common/policy-name.js';
import { NEVER_ABORTED } from '../common/signal.js';
import { MAX_TIMER_DELAY_MS } from '../common/timers.js';
import type { Supplier } from '../common/types.js';
import { type RetryConfig, type RetrySettings, RetryVerdict, resolveRetryConfig } from './retry-config.js';
import type { RetryEvent } from './retry-events.js';
import { type Sleep, sleep } from './sleep.js';

export interface RetryOptions {
  /** Source of the events' `at`. Default: the system clock. */
  readonly clock?: Clock;
  /** How to wait between attempts. Default: a timer that the caller's signal cuts short. */
  readonly sleep?: Sleep;
}

/** Resilience4j's retry counters. A call the caller aborted is not counted. */
export interface RetryMetrics {
  readonly numberOfSuccessfulCallsWithoutRetryAttempt: number;
  readonly numberOfSuccessfulCallsWithRetryAttempt: number;
  /** Calls that failed on their first attempt, with an error that is not retried (or maxAttempts 1). */
  readonly numberOfFailedCallsWithoutRetryAttempt: number;
  /** Calls that failed after at least one retry: attempts used up, or a non-retried error later on. */
  readonly numberOfFailedCallsWithRetryAttempt: number;
}

/** Races every step of one call against the caller's signal. */
interface AbortRace {
  readonly aborted: Promise<never>;
  readonly onAbort: () => void;
}

const noop = () => {};

/**
 * Calls a function again when it fails, up to `maxAttempts` in all, waiting `intervalFunction(n)`
 * after attempt n. Errors are retried unless `ignoreExceptions` (or a `retryExceptions` that does not
 * match) says otherwise; results are retried when `retryOnResult` says so.
 */
export class Retry extends PolicyBase<RetryEvent, RetryMetrics> {
  readonly kind = 'retry' as const;
  /** The validated configuration with every default filled in. */
  readonly config: RetrySettings;
  private readonly sleep: Sleep;
  private successWithoutRetry = 0;
  private successWithRetry = 0;
  private failedWithoutRetry = 0;
  private failedWithRetry = 0;

  static of(name: string, config?: RetryConfig, options?: RetryOptions): Retry {
    return new Retry(name, config, options);
  }

  static ofDefaults(name: string): Retry {
    return new Retry(name);
  }

  constructor(name: string, config?: RetryConfig, options: RetryOptions = {}) {
    super('retry', name, options.clock);
    this.config = resolveRetryConfig(config, name);
    if (options.sleep !== undefined && typeof options.sleep !== 'function') {
      throw new ConfigError(`${policySubject(this.kind, name)} options`, {
        field: 'sleep',
        value: options.sleep,
        allowed: 'a function (ms, signal) => Promise<void>',
        policy: { kind: this.kind, name },
      });
    }
    this.sleep = options.sleep ?? sleep;
  }

  /**
   * Runs `fn` until it succeeds, fails with an error that is not retried, or uses up `maxAttempts`.
   * `fn` receives `signal` (or a signal that never aborts). When `signal` aborts, the call rejects at
   * once with its reason, a pending wait is cut short, and no further attempt starts.
   */
  execute<T>(fn: Supplier<T>, signal?: AbortSignal): Promise<T> {
    if (signal === undefined || signal === NEVER_ABORTED) return this.run(fn, NEVER_ABORTED, undefined);
    if (signal.aborted) return Promise.reject(signal.reason);
    let onAbort = noop;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
    });
    aborted.catch(noop);
    signal.addEventListener('abort', onAbort, { once: true });
    return this.run(fn, signal, { aborted, onAbort });
  }

  /** The counters so far, as a promise like every policy's metrics (see `Policy`); read in process. */
  getMetrics(): Promise<RetryMetrics> {
    return Promise.resolve({
      numberOfSuccessfulCallsWithoutRetryAttempt: this.successWithoutRetry,
      numberOfSuccessfulCallsWithRetryAttempt: this.successWithRetry,
      numberOfFailedCallsWithoutRetryAttempt: this.failedWithoutRetry,
      numberOfFailedCallsWithRetryAttempt: this.failedWithRetry,
    });
  }

  /** Does nothing: a retry holds no store and no timer between calls (every policy has `close()`, see `Policy`). */
  close(): void {}

  private async run<T>(fn: Supplier<T>, signal: AbortSignal, race: AbortRace | undefined): Promise<T> {
    const c = this.config;
    // A stateful interval function (decorrelated jitter) gets one sequence per call.
    const interval = c.intervalFunction.newSequence?.() ?? c.intervalFunction;
    try {
      for (let attempt = 1; ; attempt++) {
        let value: T;
        try {
          const pending = callSafely(fn, signal);
          value = await (race === undefined ? pending : Promise.race([pending, race.aborted]));
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (c.classifyError(error) === RetryVerdict.Ignore) {
            this.countFailure(attempt);
            this.emitEnd('IGNORED_ERROR', attempt, error);
            throw error;
          }
          if (attempt >= c.maxAttempts) {
            this.countFailure(attempt);
            this.emitEnd('ERROR', attempt, error);
            throw error;
          }
          await this.wait(interval, attempt, signal, race, { error });
          continue;
        }
        if (c.retryOnResult !== undefined && asksForRetry(c.retryOnResult, value)) {
          if (attempt >= c.maxAttempts) {
            this.countFailure(attempt);
            const exceeded = new MaxRetriesExceededError(this.name, attempt, value);
            this.emitEnd('ERROR', attempt, exceeded);
            if (c.failAfterMaxAttempts) throw exceeded;
            return value;
          }
          await this.wait(interval, attempt, signal, race, { result: value });
          continue;
        }
        if (attempt === 1) this.successWithoutRetry++;
        else {
          this.successWithRetry++;
          if (this.publisher.hasListeners) {
            this.publisher.emit({
              kind: 'retry',
              type: 'SUCCESS',
              name: this.name,
              at: this.clock.now(),
              attempts: attempt,
            });
          }
        }
        return value;
      }
    } finally {
      if (race !== undefined) signal.removeEventListener('abort', race.onAbort);
    }
  }

  private async wait(
    interval: (attempt: number) => number,
    attempt: number,
    signal: AbortSignal,
    race: AbortRace | undefined,
    failure: RetriedFailure,
  ): Promise<void> {
    const waitMs = this.waitAfter(interval, attempt, failure);
    if (this.publisher.hasListeners) {
      this.publisher.emit({
        kind: 'retry',
        type: 'RETRY',
        name: this.name,
        at: this.clock.now(),
        attempt,
        waitMs,
        ...('error' in failure
          ? { reason: 'error', error: failure.error }
          : { reason: 'result', result: failure.result }),
      });
    }
    if (waitMs > 0) {
      const pending = this.sleep(waitMs, signal);
      // A user's sleep may ignore the signal; the race still ends the wait on abort.
      await (race === undefined ? pending : Promise.race([pending, race.aborted]));
    }
    if (signal.aborted) throw signal.reason;
  }

  /**
   * The wait after `attempt`, within what a timer can hold. An interval function that gives no
   * usable wait ends the call: Infinity or NaN would otherwise mean waiting forever or retrying at
   * once (a retry storm), and the attempt's own error must not be lost behind the function's.
   */
  private waitAfter(interval: (attempt: number) => number, attempt: number, failure: RetriedFailure): number {
    let ms: unknown;
    try {
      ms = interval(attempt);
    } catch (thrown) {
      throw this.endWith(new RetryIntervalError(this.name, attempt, { threw: thrown }, failure), attempt);
    }
    if (typeof ms !== 'number' || !(ms >= 0) || ms === Number.POSITIVE_INFINITY) {
      throw this.endWith(new RetryIntervalError(this.name, attempt, { returned: ms }, failure), attempt);
    }
    // Longer than a timer can hold (Node would fire after 1 ms): wait the longest it can. (`+ 0`
    // turns -0 into 0 for the RETRY event.)
    return Math.min(ms, MAX_TIMER_DELAY_MS) + 0;
  }

  /** Counts and publishes the call's end with `error`, and returns it to throw. */
  private endWith(error: RetryIntervalError, attempt: number): RetryIntervalError {
    this.countFailure(attempt);
    this.emitEnd('ERROR', attempt, error);
    return error;
  }

  private countFailure(attempts: number): void {
    if (attempts === 1) this.failedWithoutRetry++;
    else this.failedWithRetry++;
  }

  private emitEnd(type: 'ERROR' | 'IGNORED_ERROR', attempts: number, error: unknown): void {
    if (!this.publisher.hasListeners) return;
    this.publisher.emit({ kind: 'retry', type, name: this.name, at: this.clock.now(), attempts, error });
  }
}

function callSafely<T>(fn: Supplier<T>, signal: AbortSignal): T | PromiseLike<T> {
  try {
    return fn(signal);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A predicate that throws accepts the result: a buggy predicate must not start a retry storm. */
function asksForRetry(retryOnResult: (result: unknown) => boolean, value: unknown): boolean {
  try {
    return retryOnResult(value) === true;
  } catch {
    return false;
  }
}
