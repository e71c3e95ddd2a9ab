import type { Clock } from '../common/clock.js';
import { TimeoutError } from '../common/errors.js';
import type { EventPublisher } from '../common/event-publisher.js';
import { holdAlive, releaseAlive } from '../common/keep-alive.js';
import { PolicyBase } from '../common/policy-base.js';
import { NEVER_ABORTED } from '../common/signal.js';
import { isPromiseLike, type Supplier } from '../common/types.js';
import {
  resolveTimeLimiterConfig,
  type TimeLimiterConfig,
  type TimeLimiterSettings,
} from './time-limiter-config.js';
import type { TimeLimiterEvent } from './time-limiter-events.js';

export interface TimeLimiterOptions {
  /** Source of the events' `at`. Default: the system clock. Timeouts themselves run on timers. */
  readonly clock?: Clock;
}

/** Calls by outcome, as Resilience4j's `resilience4j_timelimiter_calls_total{kind}`. Calls the caller aborted are not counted. */
export interface TimeLimiterMetrics {
  readonly numberOfSuccessfulCalls: number;
  readonly numberOfFailedCalls: number;
  readonly numberOfTimedOutCalls: number;
}

/**
 * Bounds how long a call may take. The protected function receives an AbortSignal that aborts
 * with the TimeoutError when time is up (with `cancelRunningFuture`, the default) or with the
 * caller's reason when the caller aborts. Each call holds one timer, cleared as the call settles;
 * while it runs, the process stays alive like the call it bounds (a hung call still ends in
 * TimeoutError; see keep-alive.ts for how that is done cheaply).
 */
export class TimeLimiter extends PolicyBase<TimeLimiterEvent, TimeLimiterMetrics> {
  readonly kind = 'timelimiter' as const;
  /** The validated configuration with every default filled in. */
  readonly config: TimeLimiterSettings;
  private readonly outcomes: Outcomes;

  static of(name: string, config?: TimeLimiterConfig, options?: TimeLimiterOptions): TimeLimiter {
    return new TimeLimiter(name, config, options);
  }

  static ofDefaults(name: string): TimeLimiter {
    return new TimeLimiter(name);
  }

  constructor(name: string, config?: TimeLimiterConfig, options: TimeLimiterOptions = {}) {
    super('timelimiter', name, options.clock);
    this.config = resolveTimeLimiterConfig(config, name);
    this.outcomes = new Outcomes(this.name, this.config.timeoutDuration, this.clock, this.publisher);
  }

  /**
   * Runs `fn`, rejecting with a TimeoutError if it has not settled after `timeoutDuration` (counted
   * from when `fn` returns its promise, as Resilience4j does). When `signal` aborts first, the call
   * rejects at once with its reason. With `cancelRunningFuture`, `fn` gets a signal of its own,
   * which no other call ever sees.
   */
  execute<T>(fn: Supplier<T>, signal?: AbortSignal): Promise<T> {
    // The never-aborting signal needs no listener, and adding one costs ~0.5 µs (bench `chain`,
    // case `ours`: the Retry outside hands NEVER_ABORTED down).
    if (signal === NEVER_ABORTED) signal = undefined;
    else if (signal?.aborted) return Promise.reject(signal.reason);
    const outcomes = this.outcomes;
    const controller = this.config.cancelRunningFuture ? new AbortController() : undefined;
    let pending: T | PromiseLike<T>;
    try {
      pending = fn(controller === undefined ? (signal ?? NEVER_ABORTED) : controller.signal);
    } catch (error) {
      outcomes.error(error);
      return Promise.reject(error);
    }
    if (!isPromiseLike(pending)) {
      outcomes.success();
      return Promise.resolve(pending);
    }
    return new Promise<T>((resolve, reject) => {
      const call = new TimedCall(outcomes, controller, signal, resolve, reject);
      // Promise.resolve: a foreign thenable whose then() throws still settles the call.
      Promise.resolve(pending).then(
        (value) => call.settleValue(value),
        (error: unknown) => call.settleError(error),
      );
    });
  }

  /** The counters so far, as a promise like every policy's metrics (see `Policy`); read in process. */
  getMetrics(): Promise<TimeLimiterMetrics> {
    const o = this.outcomes;
    return Promise.resolve({
      numberOfSuccessfulCalls: o.successful,
      numberOfFailedCalls: o.failed,
      numberOfTimedOutCalls: o.timedOut,
    });
  }

  /**
   * Does nothing: a time limiter holds no store, and each call's timer is cleared as the call
   * settles (every policy has `close()`, see `Policy`). Calls in flight keep their deadline.
   */
  close(): void {}
}

/** Counts and publishes how calls end; shared by a limiter and its calls in flight. */
class Outcomes {
  successful = 0;
  failed = 0;
  timedOut = 0;

  constructor(
    readonly name: string,
    readonly timeoutMs: number,
    private readonly clock: Clock,
    /** The limiter's own: its listeners hear the calls in flight too. */
    private readonly publisher: EventPublisher<TimeLimiterEvent>,
  ) {}

  success(): void {
    this.successful++;
    if (this.publisher.hasListeners) {
      this.publisher.emit({ kind: 'timelimiter', type: 'SUCCESS', name: this.name, at: this.clock.now() });
    }
  }

  error(error: unknown): void {
    this.failed++;
    if (this.publisher.hasListeners) {
      this.publisher.emit({
        kind: 'timelimiter',
        type: 'ERROR',
        name: this.name,
        at: this.clock.now(),
        error,
      });
    }
  }

  timeout(): void {
    this.timedOut++;
    if (this.publisher.hasListeners) {
      this.publisher.emit({
        kind: 'timelimiter',
        type: 'TIMEOUT',
        name: this.name,
        at: this.clock.now(),
        timeoutMs: this.timeoutMs,
      });
    }
  }
}

/**
 * One call in flight. Whichever comes first of the value, the error, the timeout and the caller's
 * abort settles it; the others find `settled` and do nothing. It listens to the caller's signal
 * itself (`handleEvent`) and is the timer's argument, so a call allocates no closures for either
 * (bench `chain`, case `ours`).
 */
class TimedCall<T> {
  private settled = false;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly outcomes: Outcomes,
    private readonly controller: AbortController | undefined,
    private readonly callerSignal: AbortSignal | undefined,
    private readonly resolve: (value: T) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    // Unref'd, and counted by keep-alive: the process still stays alive while it runs (a hung call
    // ends in TimeoutError), at a fraction of a ref'd timer's cost per call.
    this.timer = setTimeout(expire, outcomes.timeoutMs, this);
    this.timer.unref();
    holdAlive();
    // No `once`: finish() removes the listener however the call ends, and the option costs time
    // (bench `chain`, case `ours`, when the caller passes a signal).
    callerSignal?.addEventListener('abort', this);
  }

  settleValue(value: T): void {
    if (!this.finish()) return;
    this.outcomes.success();
    this.resolve(value);
  }

  settleError(error: unknown): void {
    if (!this.finish()) return;
    this.outcomes.error(error);
    this.reject(error);
  }

  expire(): void {
    if (!this.finish()) return;
    const error = new TimeoutError(this.outcomes.name, this.outcomes.timeoutMs);
    this.outcomes.timeout();
    // Reject before aborting: a listener of fn's that throws must not keep the caller waiting.
    this.reject(error);
    this.controller?.abort(error);
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    if (!this.finish()) return;
    const reason = this.callerSignal?.reason;
    this.reject(reason);
    this.controller?.abort(reason);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    releaseAlive();
    this.callerSignal?.removeEventListener('abort', this);
    return true;
  }
}

function expire<T>(call: TimedCall<T>): void {
  call.expire();
}
