import {
  CircuitBreaker as BreakwaterBreaker,
  Bulkhead,
  BulkheadFullError,
  CallNotPermittedError,
  type Clock,
  TimeLimiter,
  TimeoutError,
  type Unsubscribe,
} from '@breakwater/core';
import {
  type BreakerEngine,
  deniedState,
  OUTCOME_FAILURE,
  OUTCOME_SLOW,
  type Outcome,
  type StepEffects,
} from '@breakwater/core/engine';
import { BreakerEvents } from './breaker-events.js';
import { type CacheEvent, CallCache } from './call-cache.js';
import { CallOutcome, type FailureKind, Verdict } from './call-outcome.js';
import { isOurError, openBreakerError, semaphoreLockedError, shutdownError, timeoutError } from './errors.js';
import { MemoryCache } from './memory-cache.js';
import { ObservedStore } from './observed-store.js';
import {
  type BreakwaterOverrides,
  breakwaterConfig,
  cacheTransportOption,
  clockOption,
  type FleetStore,
  type Options as OptionsOf,
  resolveSettings,
  type Settings,
  type State as StateShape,
  statusOption,
  storeOption,
} from './options.js';
import { type Phase, PhaseTracker, phaseOf } from './phase.js';
import {
  type Bucket as BucketShape,
  type Stats as StatsShape,
  Status,
  type StatusOptions as StatusOptionsShape,
  type Window as WindowShape,
} from './status.js';

// biome-ignore lint/suspicious/noExplicitAny: the fallback may take and return anything, typed `any` as in @types/opossum so that fallbacks written against it compile unchanged.
type AnyFunction = (...args: any[]) => any;

const DEFAULT_HEALTH_CHECK_INTERVAL_MS = 5000;

/**
 * opossum's `CircuitBreaker`, on Breakwater's engine: the same constructor, options, methods,
 * getters and events (see the package README for the few differences), with the decisions made by
 * a Breakwater circuit breaker (a TIME_BASED window, a time limiter for `timeout`, a bulkhead for
 * `capacity`). With the `store` option the breaker's state lives in that store, shared by every
 * process that uses it; `getBreakwater()` hands out the Breakwater breaker for events, metrics and
 * the CLI.
 *
 * Calls run on one of two paths with the same outcomes. In process, until `getBreakwater()` is
 * called, a call asks the engine for a permit and records its outcome itself: the cheapest path,
 * with no Breakwater call events. With a store, or once the Breakwater breaker is handed out, a
 * call goes through its `execute`, so that its events and metrics see every call.
 */
export class CircuitBreaker<TI extends unknown[] = unknown[], TR = unknown> extends BreakerEvents<TI, TR> {
  /** True for the errors the breaker made itself (EOPENBREAKER, ETIMEDOUT, ESEMLOCKED, ESHUTDOWN). */
  static isOurError(error: Error): boolean {
    return isOurError(error);
  }

  /** A `Status` to start a breaker from (`options.status`), e.g. with saved `stats`. */
  static newStatus(options: CircuitBreaker.StatusOptions): CircuitBreaker.Status {
    return new Status(options);
  }

  private readonly settings: Settings;
  // Private fields name no type parameter: TypeScript compares private fields too, and a generic
  // one would make CircuitBreaker<[string], number> unassignable to CircuitBreaker (as
  // `let breaker: CircuitBreaker = new CircuitBreaker(readFile)` needs, with @types/opossum too).
  private readonly action: (...args: unknown[]) => unknown;
  private readonly clock: Clock;
  private readonly breakwater: BreakwaterBreaker;
  private readonly engine: BreakerEngine;
  /** A store was given: the engine may answer with promises, so calls go through `execute`. */
  private readonly shared: boolean;
  private readonly slowCallMs: number;
  private readonly timeLimiter: TimeLimiter | undefined;
  private readonly bulkhead: Bulkhead | undefined;
  private readonly errorFilter: ((err: unknown, ...args: unknown[]) => boolean) | undefined;
  /** With `cache` or `coalesce`: calls compute a key first. */
  private readonly cache: CallCache | undefined;
  private readonly cacheGetKey: (...args: unknown[]) => string;
  private readonly statusOf: Status;
  private fallbackFunction: AnyFunction | undefined;
  private abortController: AbortController | undefined;
  private readonly autoRenewAbortController: boolean;

  /** The state as this instance shows it. */
  private readonly states = new PhaseTracker((phase) => this.entered(phase));
  /** In halfOpen: this instance let its trial call through (opossum's pendingClose is then false). */
  private trialTaken = false;
  private isEnabled: boolean;
  private warming: boolean;
  private shut = false;
  /** The Breakwater breaker was handed out: calls go through its `execute`. */
  private exposed = false;
  private lastOpenedAt: number | undefined;
  /** A call refused just now, synchronously: its promise is not coalesced (see invokeKeyed). */
  private refusedNow = false;

  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private unsubscribeFleet: Unsubscribe | undefined;

  constructor(action: (...args: TI) => TR | PromiseLike<TR>, options: CircuitBreaker.Options<TI> = {}) {
    super();
    if (!action) {
      throw new TypeError(
        'No action provided. Cannot construct a CircuitBreaker without an invocable action.',
      );
    }
    const s = resolveSettings(action, options as OptionsOf<never>);
    this.settings = s;
    // As opossum: an action that is not a function is the value every call resolves to.
    this.action = typeof action === 'function' ? (action as (...args: unknown[]) => unknown) : () => action;
    this.clock = clockOption(options.clock, s.name);
    const store = storeOption(options.store, s.name);
    this.isEnabled = s.enabled;
    this.warming = s.allowWarmUp;
    this.errorFilter = options.errorFilter as ((err: unknown, ...args: unknown[]) => boolean) | undefined;
    this.cacheGetKey =
      (options.cacheGetKey as ((...args: unknown[]) => string) | undefined) ?? defaultCacheKey;
    const transport = options.cache === true ? cacheTransportOption(options as OptionsOf<never>) : undefined;
    const coalescing =
      options.coalesce === true ? new MemoryCache(options.coalesceSize, () => this.clock.now()) : undefined;
    this.cache =
      transport === undefined && coalescing === undefined
        ? undefined
        : new CallCache(transport, coalescing, s, this.clock);
    this.autoRenewAbortController = options.autoRenewAbortController === true;
    this.abortController =
      options.abortController ?? (this.autoRenewAbortController ? new AbortController() : undefined);

    this.timeLimiter =
      s.timeout > 0
        ? TimeLimiter.of(
            s.name,
            { timeoutDuration: s.timeout, cancelRunningFuture: false },
            { clock: this.clock },
          )
        : undefined;
    // capacity stays per process, as in opossum, whatever the store.
    this.bulkhead =
      s.capacity !== undefined
        ? Bulkhead.of(s.name, { maxConcurrentCalls: s.capacity, maxWaitDuration: 0 }, { clock: this.clock })
        : undefined;

    const observed = new ObservedStore(store, this.onEffects);
    this.breakwater = BreakwaterBreaker.of(
      s.name,
      breakwaterConfig(s, options.breakwater as BreakwaterOverrides | undefined),
      { store: observed, clock: this.clock },
    );
    this.engine = observed.engine as BreakerEngine;
    this.shared = store !== undefined;
    this.slowCallMs = this.breakwater.config.slowCallDurationThreshold;
    // Last: every option is valid by now, so no failed construction leaves its timers behind.
    this.statusOf = statusOption(options as OptionsOf<never>, s);

    if (options.maxFailures) {
      process.emitWarning(
        'options.maxFailures is deprecated. Please use options.errorThresholdPercentage',
        'DeprecationWarning',
      );
    }
    const saved = options.state;
    if (saved !== undefined) {
      if (saved.enabled === false) this.isEnabled = false;
      if (saved.warmUp === true) this.warming = true;
    }
    if (this.warming) {
      this.after(s.rollingCountTimeout, () => {
        this.warming = false;
      });
    }
    if (!this.isEnabled) this.statusOf.stopListeningForRotation();
    if (store !== undefined) {
      this.followFleet(store);
      // The shared state may be open already.
      this.refresh();
    } else if (saved !== undefined && saved.shutdown !== true) {
      this.restore(saved);
    }
    if (saved?.shutdown === true) this.shutdown();
  }

  // ------------------------------------------------------------------ calls

  /**
   * Calls the action with `args` through the breaker. Resolves with its result, or with the
   * fallback's when it fails, times out, is refused (open) or finds the breaker at capacity;
   * rejects otherwise. `CircuitBreaker.isOurError` tells the breaker's own errors apart.
   */
  fire(...args: TI): Promise<TR> {
    return this.invoke(this.action, args);
  }

  /** `fire` with `context` as the action's `this`. */
  call(context: unknown, ...args: TI): Promise<TR> {
    return this.invoke(context, args);
  }

  private invoke(context: unknown, args: TI): Promise<TR> {
    if (this.shut) return Promise.reject(shutdownError());
    this.statusOf.current.counts.fires++;
    if (this.fireListened) this.emit('fire', args);
    if (!this.isEnabled) return this.runUnprotected(context, args);
    if (this.cache !== undefined) return this.invokeKeyed(this.cache, context, args);
    return this.protect(context, args, undefined);
  }

  /** A disabled breaker: the action alone, no breaker, no cache, no fallback (as opossum). */
  private runUnprotected(context: unknown, args: TI): Promise<TR> {
    try {
      return Promise.resolve(this.action.apply(context, args) as TR);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** With the cache or coalescing: a cached result, a shared call in flight, or a new call. */
  private invokeKeyed(cache: CallCache, context: unknown, args: TI): Promise<TR> {
    const key = this.cacheGetKey.apply(this, args);
    const found = cache.find(key, this.statusOf.current, this.tellCache);
    if (found !== undefined) return found as Promise<TR>;
    this.refusedNow = false;
    const call = this.protect(context, args, key);
    // A call the open breaker refused is not shared, as in opossum (its refusal is decided at once).
    if (!this.refusedNow) cache.share(key, call);
    return call;
  }

  private readonly tellCache = (event: CacheEvent): void => {
    this.emit(event);
  };

  private protect(context: unknown, args: TI, key: string | undefined): Promise<TR> {
    if (this.shared || this.exposed) return this.protectThroughBreakwater(context, args, key);
    const start = this.clock.now();
    // In process the engine answers at once; see the class comment for the two paths.
    const permit = this.engine.acquire(start) as number;
    if (this.states.hasPending) this.states.flush();
    if (permit < 0) return this.refused(deniedState(permit), undefined, args, key);
    return this.begin(context, args).then(
      (value) => {
        const end = this.clock.now();
        const latency = end - start;
        this.engine.record(permit, latency > this.slowCallMs ? OUTCOME_SLOW : 0, end);
        return this.succeeded(value, latency, key);
      },
      (error: unknown) => {
        const end = this.clock.now();
        const latency = end - start;
        const outcome = this.judge(error, args);
        const slow = latency > this.slowCallMs ? OUTCOME_SLOW : 0;
        if (outcome.verdict === Verdict.Failure)
          this.engine.record(permit, (OUTCOME_FAILURE | slow) as Outcome, end);
        else if (outcome.verdict === Verdict.Success) this.engine.record(permit, slow, end);
        else this.engine.release(permit, end);
        return this.failed(outcome, latency, args, key);
      },
    );
  }

  /** The path through the Breakwater breaker's `execute`: its call events and metrics see the call. */
  private protectThroughBreakwater(context: unknown, args: TI, key: string | undefined): Promise<TR> {
    const start = this.clock.now();
    return this.breakwater
      .execute(() => {
        if (this.states.hasPending) this.states.flush();
        // The verdict travels with the rejection: the breaker's config reads it (breakwaterConfig).
        return this.begin(context, args).then(undefined, (error: unknown) => {
          throw this.judge(error, args);
        });
      })
      .then(
        (value) => this.succeeded(value, this.clock.now() - start, key),
        (error: unknown) => {
          const latency = this.clock.now() - start;
          if (error instanceof CallOutcome) return this.failed(error, latency, args, key);
          if (error instanceof CallNotPermittedError && error.circuitBreakerName === this.settings.name) {
            return this.refused(error.state, error, args, key);
          }
          return this.failed(this.judge(error, args), latency, args, key);
        },
      );
  }

  /**
   * Runs the action of a call the breaker let through (in half-open, this instance's trial), inside
   * the bulkhead (`capacity`) and the time limiter (`timeout`) when there are.
   */
  private begin(context: unknown, args: TI): Promise<TR> {
    if (this.states.phase === 'halfOpen') this.trialTaken = true;
    const action = this.action;
    const timeLimiter = this.timeLimiter;
    const bulkhead = this.bulkhead;
    try {
      if (timeLimiter === undefined && bulkhead === undefined) {
        return Promise.resolve(action.apply(context, args) as TR);
      }
      const call = () => action.apply(context, args) as TR | PromiseLike<TR>;
      if (bulkhead === undefined) return (timeLimiter as TimeLimiter).execute(call);
      return bulkhead.execute(timeLimiter === undefined ? call : () => timeLimiter.execute(call));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** What a failure is, and how it counts: opossum's rules, with a full `capacity` not counted. */
  private judge(error: unknown, args: TI): CallOutcome {
    let kind: FailureKind = 'error';
    let reported = error;
    const name = this.settings.name;
    if (error instanceof TimeoutError && error.policyName === name && this.timeLimiter !== undefined) {
      kind = 'timeout';
      reported = timeoutError(this.settings.timeout, error);
    } else if (error instanceof BulkheadFullError && error.bulkheadName === name) {
      kind = 'semaphore';
      reported = semaphoreLockedError(error);
    }
    let filtered = false;
    const filter = this.errorFilter;
    if (filter !== undefined) {
      try {
        filtered = Boolean(filter(reported, ...args));
      } catch {
        // A filter that throws excuses nothing: the call counts as failed.
      }
    }
    // A full capacity says nothing about the downstream's health (opossum counts it as a failure);
    // during the warm-up, failures do not count either, so that they cannot open the breaker.
    const verdict = filtered
      ? Verdict.Success
      : kind === 'semaphore' || this.warming
        ? Verdict.Ignored
        : Verdict.Failure;
    return new CallOutcome(reported, kind, filtered, verdict);
  }

  private succeeded(value: TR, latency: number, key: string | undefined): TR {
    const bucket = this.statusOf.current;
    bucket.counts.successes++;
    if (this.statusOf.rollingPercentilesEnabled) bucket.latencies.add(latency);
    // A trial's success closes the breaker before 'success' reaches the user's listeners, as in
    // opossum (whose own 'success' listener, registered first, closes it).
    if (this.states.hasPending) this.states.flush();
    if (this.successListened) this.emit('success', value, latency);
    if (key !== undefined) this.cache?.remember(key, value);
    return value;
  }

  /** Events and stats of a failed call, in opossum's order, then its fallback (or its rejection). */
  private failed(outcome: CallOutcome, latency: number, args: TI, key: string | undefined): Promise<TR> {
    const error = outcome.error;
    const bucket = this.statusOf.current;
    if (outcome.kind === 'timeout') {
      bucket.counts.timeouts++;
      this.emit('timeout', error, latency, args);
      this.abortController?.abort();
    } else if (outcome.kind === 'semaphore') {
      bucket.counts.semaphoreRejections++;
      this.emit('semaphoreLocked', error, latency);
    }
    if (outcome.filtered) {
      bucket.counts.successes++;
      if (this.statusOf.rollingPercentilesEnabled) bucket.latencies.add(latency);
      if (this.states.hasPending) this.states.flush();
      this.emit('success', error, latency);
    } else if (outcome.kind !== 'semaphore') {
      bucket.counts.failures++;
      if (this.statusOf.rollingPercentilesEnabled) bucket.latencies.add(latency);
      this.emit('failure', error, latency, args);
    }
    // The opening a failure caused shows after the failure, as opossum's 'open' does.
    if (this.states.hasPending) this.states.flush();
    if (key !== undefined) this.cache?.forget(key, outcome.kind);
    if (!outcome.filtered) {
      const fallback = this.runFallback(error, args);
      if (fallback !== undefined) return fallback;
    }
    return Promise.reject(error);
  }

  /** The breaker refused the call (open, or half-open with its trial call running). */
  private refused(state: string, cause: unknown, args: TI, key: string | undefined): Promise<TR> {
    if (this.states.hasPending) this.states.flush();
    // A refusal tells of a state this instance may not have seen yet (another process opened it).
    if (this.states.show(phaseOf(state)) && this.states.phase === 'halfOpen') this.trialTaken = true;
    this.refusedNow = true;
    if (key !== undefined) this.cache?.forget(key, 'refused');
    const error = openBreakerError(cause ?? new CallNotPermittedError(this.settings.name, state));
    this.statusOf.current.counts.rejects++;
    this.emit('reject', error);
    return this.runFallback(error, args) ?? Promise.reject(error);
  }

  private runFallback(error: unknown, args: TI): Promise<TR> | undefined {
    const fallback = this.fallbackFunction;
    if (fallback === undefined) return undefined;
    let result: unknown;
    try {
      result = fallback.apply(fallback, [...args, error]);
    } catch (thrown) {
      return Promise.reject(thrown);
    }
    this.statusOf.current.counts.fallbacks++;
    this.emit('fallback', result, error);
    return Promise.resolve(result as TR);
  }

  // ------------------------------------------------------------------ state

  /** Opens the breaker (calls are refused, or go to the fallback) until `resetTimeout` has passed. */
  open(): void {
    if (this.shut) return;
    this.manual(this.breakwater.transitionToOpenState());
  }

  /** Closes the breaker: calls go through again, judged on a fresh window. */
  close(): void {
    if (this.shut) return;
    this.manual(this.breakwater.transitionToClosedState());
  }

  /**
   * In process the transition is made before the engine's promise returns: its events go out now.
   * With a store they go out when the store answers. A transition Breakwater refuses (an operator
   * set METRICS_ONLY, from which OPEN is not allowed) leaves the state as it is.
   */
  private manual(done: Promise<void>): void {
    if (this.states.hasPending) this.states.flush();
    done.then(
      () => {
        if (this.states.hasPending) this.states.flush();
      },
      () => this.refresh(),
    );
  }

  /** Enables the breaker: calls are protected again. */
  enable(): void {
    this.isEnabled = true;
    if (!this.shut) this.statusOf.listenForRotation();
  }

  /** Disables the breaker in this process: calls go straight to the action, without breaker or fallback. */
  disable(): void {
    this.isEnabled = false;
    this.statusOf.stopListeningForRotation();
  }

  /** Stops the breaker for good: every later call rejects with ESHUTDOWN; timers and listeners go. */
  shutdown(): void {
    if (this.shut) return;
    this.emit('shutdown');
    this.disable();
    this.removeAllListeners();
    this.shut = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.unsubscribeFleet?.();
    this.unsubscribeFleet = undefined;
    this.statusOf.shutdown();
    this.breakwater.close();
    this.bulkhead?.close();
    this.clearCache();
  }

  /**
   * Calls `func` (with the breaker as `this`) now and every `interval` ms (default 5000); when its
   * promise rejects, emits `healthCheckFailed` and opens the breaker. Its timer does not keep the
   * process alive, and stops at `shutdown()`.
   */
  healthCheck(func: (this: CircuitBreaker<TI, TR>) => PromiseLike<unknown>, interval?: number): void {
    const every = interval || DEFAULT_HEALTH_CHECK_INTERVAL_MS;
    if (typeof func !== 'function') throw new TypeError('Health check function must be a function');
    if (Number.isNaN(Number(every))) throw new TypeError('Health check interval must be a number');
    const check = () => {
      let result: PromiseLike<unknown>;
      try {
        result = func.apply(this);
      } catch (error) {
        result = Promise.reject(error);
      }
      Promise.resolve(result).then(undefined, (error: unknown) => {
        if (this.shut) return;
        this.emit('healthCheckFailed', error);
        this.open();
      });
    };
    const timer = setInterval(check, Number(every));
    timer.unref();
    this.timers.add(timer);
    check();
  }

  /** Empties the cache and the coalescing cache; emits `cacheInvalidate`. */
  clearCache(): void {
    this.cache?.clear();
    this.emit('cacheInvalidate');
  }

  /**
   * The function called (with the call's arguments and then its error) when a call fails, times
   * out, is refused or finds the breaker at capacity; a breaker stands for its `fire`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: any other breaker, as in @types/opossum.
  fallback(func: AnyFunction | CircuitBreaker<any[], any>): this {
    this.fallbackFunction =
      func instanceof CircuitBreaker ? (...args: unknown[]) => func.fire(...args) : func;
    return this;
  }

  /** The signal of the `abortController` (aborted when a call times out), if there is one. */
  getSignal(): AbortSignal | undefined {
    return this.abortController?.signal;
  }

  getAbortController(): AbortController | undefined {
    return this.abortController;
  }

  /**
   * The Breakwater circuit breaker that makes the decisions: its events, metrics, registries,
   * `@breakwater/prometheus` and the CLI (by name, with a RedisStore) all work on it. From this
   * call on, calls go through its `execute` so that its call events see them.
   */
  getBreakwater(): BreakwaterBreaker {
    this.exposed = true;
    return this.breakwater;
  }

  toJSON(): { state: CircuitBreaker.State; status: CircuitBreaker.Stats } {
    return {
      state: {
        name: this.name,
        enabled: this.enabled,
        closed: this.closed,
        open: this.opened,
        halfOpen: this.halfOpen,
        warmUp: this.warmUp,
        shutdown: this.isShutdown,
        // Epoch ms at runtime, as opossum; typed as @types/opossum types it (see State).
        lastTimerAt: this.lastOpenedAt as unknown as symbol,
      },
      status: this.stats,
    };
  }

  get name(): string {
    return this.settings.name;
  }
  get group(): string {
    return this.settings.group;
  }
  get enabled(): boolean {
    return this.isEnabled;
  }
  get closed(): boolean {
    return !this.shut && this.states.phase === 'closed';
  }
  get opened(): boolean {
    return !this.shut && this.states.phase === 'open';
  }
  get halfOpen(): boolean {
    return !this.shut && this.states.phase === 'halfOpen';
  }
  /** Half-open, and its one trial call has not been let through yet. */
  get pendingClose(): boolean {
    return this.halfOpen && !this.trialTaken;
  }
  get isShutdown(): boolean {
    return this.shut;
  }
  get warmUp(): boolean {
    return this.warming;
  }
  get volumeThreshold(): number {
    return this.settings.volumeThreshold;
  }
  get status(): CircuitBreaker.Status {
    return this.statusOf;
  }
  get stats(): CircuitBreaker.Stats {
    return this.statusOf.stats;
  }

  // ------------------------------------------------------------------ following the engine

  /** Transitions of the engine (see PhaseTracker for when they show). */
  private readonly onEffects = (effects: Readonly<StepEffects>): void => {
    for (const t of effects.transitions) this.states.fromEngine(phaseOf(t.to), t.at);
  };

  /** The breaker shows another state: its events. */
  private entered(phase: Phase): void {
    this.trialTaken = false;
    if (this.shut) return;
    if (phase === 'open') {
      this.lastOpenedAt = this.clock.now();
      this.statusOf.markOpen(true);
      this.emit('open');
    } else if (phase === 'halfOpen') {
      this.renewAbortController();
      this.emit('halfOpen', this.settings.resetTimeout);
    } else {
      this.statusOf.markOpen(false);
      this.renewAbortController();
      this.emit('close');
    }
  }

  private renewAbortController(): void {
    if (this.autoRenewAbortController && this.abortController?.signal.aborted === true) {
      this.abortController = new AbortController();
    }
  }

  /** Reads the state from the engine (a shared store: the fleet's) and shows it. */
  private refresh(): void {
    this.breakwater.getState().then(
      (state) => {
        if (this.states.hasPending) this.states.flush();
        this.states.show(phaseOf(state));
      },
      () => {
        // The store could not be read: the next call or transition tells.
      },
    );
  }

  /** Other processes' transitions of the shared breaker (this process's own come from its engine). */
  private followFleet(store: FleetStore): void {
    if (typeof store.onFleetTransition !== 'function') return;
    const own = store.options?.processId;
    this.unsubscribeFleet = store.onFleetTransition((message) => {
      if (message.name !== this.settings.name || message.origin === own) return;
      for (const t of message.transitions) {
        this.states.fromFleet(phaseOf(t.to), t.at);
        // The process that opened it makes the half-open transition when the wait ends; should
        // it be gone by then, this process reads the state itself a little later.
        if (t.to === 'OPEN' && t.until > 0)
          this.after(Math.max(0, t.until - Date.now()) + 100, () => this.refresh());
      }
    });
  }

  /** A state saved with toJSON() (without a store): the breaker starts in it. */
  private restore(saved: NonNullable<CircuitBreaker.Options<TI>['state']>): void {
    if (saved.closed !== false) return;
    this.breakwater.transitionToOpenState().catch(noop);
    const openedAt = saved.lastTimerAt;
    const waited = typeof openedAt === 'number' && this.clock.now() - openedAt > this.settings.resetTimeout;
    if (saved.halfOpen === true || waited) this.breakwater.transitionToHalfOpenState().catch(noop);
    this.states.flush();
  }

  /** A background timer: unref'd, cleared at shutdown. */
  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }
}

const noop = (): void => {};

function defaultCacheKey(...args: unknown[]): string {
  return JSON.stringify(args);
}

/** The types of @types/opossum's `CircuitBreaker` namespace, under the same names. */
export declare namespace CircuitBreaker {
  type Options<TI extends unknown[] = unknown[]> = OptionsOf<TI>;
  type Status = import('./status.js').Status;
  type StatusOptions = StatusOptionsShape;
  type Bucket = BucketShape;
  type Window = WindowShape;
  type Stats = StatsShape;
  type State = StateShape;
  type MemoryCache = CacheTransport;
  type CacheTransport = import('./memory-cache.js').CacheTransport;
}
