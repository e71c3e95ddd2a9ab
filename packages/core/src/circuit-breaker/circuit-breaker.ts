import type { Clock } from '../common/clock.js';
import {
  CallNotPermittedError,
  IllegalStateTransitionError,
  ResultRecordedAsFailureError,
} from '../common/errors.js';
import { PolicyBase } from '../common/policy-base.js';
import { NEVER_ABORTED } from '../common/signal.js';
import { storeOption } from '../common/store-option.js';
import { MAX_TIMER_DELAY_MS } from '../common/timers.js';
import { isPromiseLike, type Supplier } from '../common/types.js';
import {
  type CircuitBreakerConfig,
  type CircuitBreakerSettings,
  ErrorVerdict,
  resolveCircuitBreakerConfig,
} from './circuit-breaker-config.js';
import type { CircuitBreakerEvent } from './circuit-breaker-events.js';
import {
  type BreakerTransition,
  type CircuitBreakerMetrics,
  CURRENT_PERMIT,
  DENIED_FORCED_OPEN,
  deniedState,
  type ManualTarget,
  type StepEffects,
} from './circuit-breaker-machine.js';
import type { CircuitBreakerStateName } from './circuit-breaker-state.js';
import type { BreakerEngine, BreakerView, Store } from './circuit-breaker-store.js';
import { createBreakerCell, LocalBreakerEngine } from './local-circuit-breaker-engine.js';
import { OUTCOME_FAILURE, OUTCOME_SLOW, type Outcome } from './sliding-window.js';

export interface CircuitBreakerOptions {
  /** Where the state lives. Default: in-process, private to this breaker. */
  readonly store?: Store;
  /** Time source for waits, windows and call durations. Default: the system clock. */
  readonly clock?: Clock;
}

const noop = () => {};

/**
 * A circuit breaker with Resilience4j's semantics. Decisions are made by the store's engine;
 * this class measures calls, classifies their outcomes and publishes events.
 */
export class CircuitBreaker extends PolicyBase<CircuitBreakerEvent, CircuitBreakerMetrics> {
  readonly kind = 'circuitbreaker' as const;
  /** The validated configuration with every default filled in. */
  readonly config: CircuitBreakerSettings;
  private readonly engine: BreakerEngine;
  private knownState: CircuitBreakerStateName = 'CLOSED';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  static of(name: string, config?: CircuitBreakerConfig, options?: CircuitBreakerOptions): CircuitBreaker {
    return new CircuitBreaker(name, config, options);
  }

  static ofDefaults(name: string): CircuitBreaker {
    return new CircuitBreaker(name);
  }

  constructor(name: string, config?: CircuitBreakerConfig, options: CircuitBreakerOptions = {}) {
    super('circuitbreaker', name, options.clock);
    this.config = resolveCircuitBreakerConfig(config, name);
    const settings = this.config;
    const store = storeOption<Store>(options.store, 'circuitBreaker', this.kind, name);
    this.engine = store
      ? store.circuitBreaker(this.name, settings, this.onEffects)
      : new LocalBreakerEngine(settings, this.onEffects, (now) => createBreakerCell(settings, now));
    // Learn the state we start from (a shared store may hold an OPEN breaker already).
    this.refreshKnownState();
  }

  // ------------------------------------------------------------------ protected calls

  /**
   * Runs `fn` if the breaker permits it and records the outcome. Rejects with
   * `CallNotPermittedError` when it does not. With `signal`, an abort rejects at once with the
   * signal's reason and returns the permit.
   */
  execute<T>(fn: Supplier<T>, signal?: AbortSignal): Promise<T> {
    if (signal !== undefined) {
      if (signal.aborted) return Promise.reject(signal.reason);
      // Nothing to watch: take the path without an abort listener (bench `chain`, case `ours`:
      // a Retry outside hands the breaker NEVER_ABORTED).
      if (signal === NEVER_ABORTED) signal = undefined;
    }
    const start = this.clock.now();
    const permit = this.engine.acquire(start);
    if (typeof permit !== 'number') {
      return signal === undefined
        ? Promise.resolve(permit).then((p) => this.admit(fn, p, start, undefined))
        : this.admitWhenAcquired(fn, permit, start, signal);
    }
    if (permit < 0) return Promise.reject(this.notPermitted(permit, start));
    return signal === undefined ? this.run(fn, permit, start) : this.runAbortable(fn, permit, start, signal);
  }

  private admit<T>(
    fn: Supplier<T>,
    permit: number,
    start: number,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    if (permit < 0) return Promise.reject(this.notPermitted(permit, start));
    if (signal?.aborted) {
      this.releaseQuietly(permit);
      return Promise.reject(signal.reason);
    }
    return signal === undefined ? this.run(fn, permit, start) : this.runAbortable(fn, permit, start, signal);
  }

  /** A permit still on its way from a remote store: an abort meanwhile rejects at once, and the permit goes back when it arrives. */
  private admitWhenAcquired<T>(
    fn: Supplier<T>,
    pending: PromiseLike<number>,
    start: number,
    signal: AbortSignal,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let aborted = false;
      const onAbort = () => {
        aborted = true;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      pending.then(
        (permit) => {
          signal.removeEventListener('abort', onAbort);
          if (!aborted) this.admit(fn, permit, start, signal).then(resolve, reject);
          else if (permit >= 0) this.releaseQuietly(permit);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          if (!aborted) reject(error);
        },
      );
    });
  }

  /**
   * Runs `fn` and records its outcome from a reaction attached to the caller's own promise: the
   * caller gets `fn`'s promise back untouched, the outcome is recorded before the caller's await
   * resumes (reactions run in the order they were attached), and a failure is never rethrown on
   * our side (in V8 each rethrow costs about as much as the user's own throw: bench `breaker`,
   * cases `time-fail` and `time-fail-vs-ok`).
   */
  private run<T>(fn: Supplier<T>, permit: number, start: number): Promise<T> {
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(fn(NEVER_ABORTED));
    } catch (error) {
      this.settleError(permit, start, error);
      return Promise.reject(error);
    }
    pending.then(
      (value) => this.settleValue(permit, start, value),
      (error: unknown) => this.settleError(permit, start, error),
    );
    return pending;
  }

  private runAbortable<T>(fn: Supplier<T>, permit: number, start: number, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        // The call is abandoned: its permit comes back, and its eventual result is not recorded.
        this.releaseQuietly(permit);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        signal.removeEventListener('abort', onAbort);
        if (settled) return false;
        settled = true;
        return true;
      };
      let pending: PromiseLike<T> | T;
      try {
        pending = fn(signal);
      } catch (error) {
        pending = Promise.reject(error);
      }
      Promise.resolve(pending).then(
        (value) => {
          if (!done()) return;
          this.settleValue(permit, start, value);
          resolve(value);
        },
        (error: unknown) => {
          if (!done()) return;
          this.settleError(permit, start, error);
          reject(error);
        },
      );
    });
  }

  // Call events go out before the outcome is recorded, so that listeners see a call's ERROR
  // before the STATE_TRANSITION it caused (Resilience4j's order). The common case (no
  // recordResult, nobody listening) stays small, so that V8 inlines the whole record path into
  // the promise reaction (bench `breaker`, case `ours-count`).
  private settleValue(permit: number, start: number, value: unknown): void {
    const end = this.clock.now();
    if (this.config.recordResult === undefined && !this.publisher.hasListeners) {
      this.record(permit, 0, end - start, end);
    } else {
      this.settleValueInFull(permit, end - start, end, value);
    }
  }

  private settleValueInFull(permit: number, durationMs: number, end: number, value: unknown): void {
    let failed = false;
    const recordResult = this.config.recordResult;
    if (recordResult !== undefined) {
      try {
        failed = recordResult(value) === true;
      } catch {
        failed = true;
      }
    }
    if (this.publisher.hasListeners && this.publishesCallEvents()) {
      if (failed) {
        const error = new ResultRecordedAsFailureError(this.name, value);
        this.publisher.emit({
          kind: 'circuitbreaker',
          type: 'ERROR',
          name: this.name,
          at: end,
          durationMs,
          error,
        });
      } else {
        this.publisher.emit({
          kind: 'circuitbreaker',
          type: 'SUCCESS',
          name: this.name,
          at: end,
          durationMs,
        });
      }
    }
    this.record(permit, failed ? OUTCOME_FAILURE : 0, durationMs, end);
  }

  private settleError(permit: number, start: number, error: unknown): void {
    const end = this.clock.now();
    const verdict = this.config.classifyError(error);
    if (this.publisher.hasListeners) this.publishError(verdict, end - start, end, error);
    if (verdict === ErrorVerdict.Ignored) this.releaseQuietly(permit, end);
    else this.record(permit, verdict === ErrorVerdict.Failure ? OUTCOME_FAILURE : 0, end - start, end);
  }

  private publishError(verdict: ErrorVerdict, durationMs: number, end: number, error: unknown): void {
    if (!this.publishesCallEvents()) return;
    const base = { kind: 'circuitbreaker', name: this.name, at: end, durationMs } as const;
    if (verdict === ErrorVerdict.Ignored) this.publisher.emit({ ...base, type: 'IGNORED_ERROR', error });
    else if (verdict === ErrorVerdict.Failure) this.publisher.emit({ ...base, type: 'ERROR', error });
    else this.publisher.emit({ ...base, type: 'SUCCESS' });
  }

  private record(permit: number, failure: 0 | 1, durationMs: number, end: number): void {
    const outcome = (
      durationMs > this.config.slowCallDurationThreshold ? failure | OUTCOME_SLOW : failure
    ) as Outcome;
    const pending = this.engine.record(permit, outcome, end);
    if (pending !== undefined) pending.then(undefined, noop);
  }

  private releaseQuietly(permit: number, now = this.clock.now()): void {
    const pending = this.engine.release(permit, now);
    if (pending !== undefined) pending.then(undefined, noop);
  }

  private notPermitted(code: number, at: number): CallNotPermittedError {
    const state = deniedState(code);
    if (code !== DENIED_FORCED_OPEN && this.publisher.hasListeners) {
      this.publisher.emit({ kind: 'circuitbreaker', type: 'NOT_PERMITTED', name: this.name, at, state });
    }
    return new CallNotPermittedError(this.name, state);
  }

  private publishesCallEvents(): boolean {
    return this.knownState !== 'DISABLED' && this.knownState !== 'FORCED_OPEN';
  }

  // ------------------------------------------------------------------ manual API

  /** Asks for a permit without running anything; pair it with onSuccess/onError/releasePermission. */
  async tryAcquirePermission(): Promise<boolean> {
    const now = this.clock.now();
    const permit = await this.engine.acquire(now);
    if (permit < 0) {
      this.notPermitted(permit, now);
      return false;
    }
    return true;
  }

  /** Like tryAcquirePermission, but throws CallNotPermittedError when refused. */
  async acquirePermission(): Promise<void> {
    const now = this.clock.now();
    const permit = await this.engine.acquire(now);
    if (permit < 0) throw this.notPermitted(permit, now);
  }

  /** Records a successful call (or a failure, if `recordResult` says so of `result`). */
  async onSuccess(durationMs: number, result?: unknown): Promise<void> {
    this.settleValue(CURRENT_PERMIT, this.clock.now() - durationMs, result);
  }

  /** Records a failed call, classified by recordExceptions/ignoreExceptions. */
  async onError(durationMs: number, error: unknown): Promise<void> {
    this.settleError(CURRENT_PERMIT, this.clock.now() - durationMs, error);
  }

  /** Returns a permit that was not used. */
  async releasePermission(): Promise<void> {
    await this.engine.release(CURRENT_PERMIT, this.clock.now());
  }

  // ------------------------------------------------------------------ state

  async getState(): Promise<CircuitBreakerStateName> {
    const view = await this.engine.read(this.clock.now());
    this.knownState = view.state;
    return view.state;
  }

  async getMetrics(): Promise<CircuitBreakerMetrics> {
    const view = await this.engine.read(this.clock.now());
    this.knownState = view.state;
    return view.metrics;
  }

  /** Back to CLOSED with an empty window; publishes RESET. */
  reset(): Promise<void> {
    return this.manual('RESET');
  }
  transitionToOpenState(): Promise<void> {
    return this.manual('OPEN');
  }
  transitionToClosedState(): Promise<void> {
    return this.manual('CLOSED');
  }
  transitionToHalfOpenState(): Promise<void> {
    return this.manual('HALF_OPEN');
  }
  transitionToForcedOpenState(): Promise<void> {
    return this.manual('FORCED_OPEN');
  }
  transitionToDisabledState(): Promise<void> {
    return this.manual('DISABLED');
  }
  transitionToMetricsOnlyState(): Promise<void> {
    return this.manual('METRICS_ONLY');
  }

  private async manual(target: ManualTarget): Promise<void> {
    const legal = await this.engine.transition(target, this.clock.now());
    if (!legal) {
      const view = await this.engine.read(this.clock.now());
      throw new IllegalStateTransitionError(this.name, view.state, target);
    }
  }

  // ------------------------------------------------------------------ lifecycle

  /** Stops timers and detaches from the store; the breaker must not be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.engine.close();
  }

  private readonly onEffects = (fx: Readonly<StepEffects>): void => {
    const emit = this.publisher.hasListeners;
    if (emit) {
      for (const e of fx.exceeded) {
        const base = { kind: 'circuitbreaker', name: this.name, at: e.at } as const;
        if (e.type === 'FAILURE_RATE_EXCEEDED')
          this.publisher.emit({ ...base, type: e.type, failureRate: e.rate });
        else this.publisher.emit({ ...base, type: e.type, slowCallRate: e.rate });
      }
    }
    let last: BreakerTransition | undefined;
    for (const t of fx.transitions) {
      last = t;
      this.knownState = t.to;
      if (emit) this.emitTransition(t);
    }
    if (fx.reset && emit) {
      this.publisher.emit({ kind: 'circuitbreaker', type: 'RESET', name: this.name, at: this.clock.now() });
    }
    if (last !== undefined) this.scheduleTimeout(this.dueAfter(last));
  };

  private dueAfter(t: BreakerTransition): number {
    const c = this.config;
    const timed =
      (t.to === 'OPEN' && c.automaticTransitionFromOpenToHalfOpenEnabled) ||
      (t.to === 'HALF_OPEN' && c.maxWaitDurationInHalfOpenState > 0);
    return timed ? t.until : 0;
  }

  private emitTransition(t: BreakerTransition): void {
    const base = { kind: 'circuitbreaker', name: this.name, at: t.at } as const;
    this.publisher.emit({
      ...base,
      type: 'STATE_TRANSITION',
      from: t.from,
      to: t.to,
      reason: t.reason,
      failureRate: t.failureRate,
      slowCallRate: t.slowCallRate,
    });
    if (t.to === 'FORCED_OPEN') this.publisher.emit({ ...base, type: 'FORCED_OPEN' });
    else if (t.to === 'DISABLED') this.publisher.emit({ ...base, type: 'DISABLED' });
  }

  /**
   * Time-driven transitions are evaluated lazily on every operation; this timer only makes them
   * (and their events) happen without a call. It is unref'd: it never keeps the process alive.
   */
  private scheduleTimeout(dueAt: number): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (dueAt <= 0 || this.closed) return;
    const delay = Math.min(Math.max(0, dueAt - this.clock.now()), MAX_TIMER_DELAY_MS);
    this.timer = setTimeout(this.onTimeout, delay);
    this.timer.unref?.();
  }

  private readonly onTimeout = (): void => {
    this.timer = undefined;
    this.refreshKnownState();
  };

  /** Reads the state (applying what fell due) and arms the timer for the next due transition. */
  private refreshKnownState(): void {
    const view = this.engine.read(this.clock.now());
    if (isPromiseLike(view)) {
      view.then((v) => this.learn(v), noop);
    } else {
      this.learn(view);
    }
  }

  private learn(view: BreakerView): void {
    this.knownState = view.state;
    // A timer that fired early (another clock, a clock step) tries again; so does a breaker that
    // attached to a state already waiting out a timed period.
    if (this.timer === undefined) this.scheduleTimeout(view.nextTransitionAt);
  }
}
