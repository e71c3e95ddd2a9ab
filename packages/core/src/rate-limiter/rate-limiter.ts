import type { Clock } from '../common/clock.js';
import { RequestNotPermittedError } from '../common/errors.js';
import { PolicyBase } from '../common/policy-base.js';
import { NEVER_ABORTED } from '../common/signal.js';
import { storeOption } from '../common/store-option.js';
import type { MaybePromise, Supplier } from '../common/types.js';
import {
  createLocalRateLimiterEngine,
  createRateLimiterCell,
  type RateLimiterCell,
} from './local-rate-limiter-engine.js';
import {
  type RateLimiterConfig,
  type RateLimiterSettings,
  resolveRateLimiterConfig,
} from './rate-limiter-config.js';
import type { RateLimiterEvent } from './rate-limiter-events.js';
import type { RateLimiterEngine, RateLimiterStore } from './rate-limiter-store.js';

export interface RateLimiterOptions {
  /**
   * Where the state lives: a store that holds rate limiters (a ConfigError for one that does not).
   * Default: in-process, private to this limiter.
   */
  readonly store?: RateLimiterStore;
  /** Time source (epoch ms). Default: the system clock. */
  readonly clock?: Clock;
}

export interface RateLimiterMetrics {
  /** Permits free now; negative while waiting callers hold reservations on later periods. */
  readonly availablePermissions: number;
  /** Callers of this instance waiting for their reserved permits. */
  readonly numberOfWaitingCalls: number;
}

const noop = () => {};
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A rate limiter with Resilience4j's semantics that never blocks the event loop: a caller
 * waits only when its permit will be free within `timeoutDuration`, and
 * is otherwise rejected at once with `RequestNotPermittedError`. A waiting caller holds a
 * reservation, so later callers queue behind it; if it aborts, the reservation is handed back
 * when that cannot over-admit.
 */
export class RateLimiter extends PolicyBase<RateLimiterEvent, RateLimiterMetrics> {
  readonly kind = 'ratelimiter' as const;
  private settings: RateLimiterSettings;
  private engine: RateLimiterEngine;
  private timeoutMs: number;
  private readonly store: RateLimiterStore | undefined;
  private localCell: RateLimiterCell | undefined;
  private waiting = 0;

  static of(name: string, config?: RateLimiterConfig, options?: RateLimiterOptions): RateLimiter {
    return new RateLimiter(name, config, options);
  }

  static ofDefaults(name: string): RateLimiter {
    return new RateLimiter(name);
  }

  constructor(name: string, config?: RateLimiterConfig, options: RateLimiterOptions = {}) {
    super('ratelimiter', name, options.clock);
    this.settings = resolveRateLimiterConfig(config, name);
    this.timeoutMs = this.settings.timeoutDuration;
    this.store = storeOption<RateLimiterStore>(options.store, 'rateLimiter', this.kind, name);
    this.engine = this.createEngine(this.settings);
  }

  /** The validated configuration with every default filled in (replaced by the change* methods). */
  get config(): RateLimiterSettings {
    return this.settings;
  }

  // ------------------------------------------------------------------ protected calls

  /**
   * Runs `fn` once a permit is granted. Rejects at once with `RequestNotPermittedError` when no
   * permit will be free within `timeoutDuration`. An abort of `signal` while waiting rejects
   * with the signal's reason; `fn` receives `signal` to abort its own work.
   */
  execute<T>(fn: Supplier<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.clock.now();
    const granted = this.engine.acquire(1, now, this.timeoutMs);
    // Granted at once, in process: no promise for the permit (bench `chain`, case `ours`).
    if (granted === 0) {
      if (this.publisher.hasListeners) this.emitAcquired(1, now, 0);
      return call(fn, signal);
    }
    return this.permit(1, granted, now, signal).then(() => call(fn, signal));
  }

  /**
   * Resolves when `permits` (1..limitForPeriod) are granted, after waiting for them if they will
   * be free within `timeoutDuration`; rejects at once with `RequestNotPermittedError` otherwise.
   */
  acquirePermission(permits = 1, signal?: AbortSignal): Promise<void> {
    if (!Number.isInteger(permits) || permits < 1 || permits > this.settings.limitForPeriod) {
      return Promise.reject(
        new RangeError(
          `RateLimiter '${this.name}': permits must be an integer in [1, ${this.settings.limitForPeriod}], got ${permits}`,
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.clock.now();
    return this.permit(permits, this.engine.acquire(permits, now, this.timeoutMs), now, signal);
  }

  /** Takes every permit left now (e.g. after the downstream answered 429); resolves to how many. */
  async drainPermissions(): Promise<number> {
    return this.engine.drain(this.clock.now());
  }

  /** Changes the permits per period from now on (the state is kept). */
  changeLimitForPeriod(limitForPeriod: number): void {
    this.reconfigure({ limitForPeriod });
  }

  /** Changes how long later callers may wait; callers already waiting keep their reservation. */
  changeTimeoutDuration(timeoutDuration: number): void {
    this.reconfigure({ timeoutDuration });
  }

  async getMetrics(): Promise<RateLimiterMetrics> {
    const availablePermissions = await this.engine.read(this.clock.now());
    return { availablePermissions, numberOfWaitingCalls: this.waiting };
  }

  // ------------------------------------------------------------------ lifecycle

  /** Detaches from the store; the limiter must not be used afterwards. */
  close(): void {
    this.engine.close();
  }

  // ------------------------------------------------------------------ internals

  /** Settles when the permits may be used: at once, after the granted wait, or rejected. */
  private permit(
    permits: number,
    granted: MaybePromise<number>,
    now: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (typeof granted !== 'number')
      return Promise.resolve(granted).then((g) => this.permit(permits, g, now, signal));
    if (granted === 0) {
      if (this.publisher.hasListeners) this.emitAcquired(permits, now, 0);
      return RESOLVED;
    }
    if (granted < 0) {
      if (this.publisher.hasListeners) this.emitFailed(permits, now, 'NO_PERMIT', -granted);
      return Promise.reject(new RequestNotPermittedError(this.name, -granted));
    }
    return this.waitFor(permits, granted, now, signal ?? NEVER_ABORTED);
  }

  private waitFor(permits: number, waitMs: number, now: number, signal: AbortSignal): Promise<void> {
    const due = now + waitMs;
    this.waiting++;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiting--;
        const at = this.clock.now();
        const pending = this.engine.release(permits, due - at, at);
        if (pending !== undefined) pending.then(undefined, noop);
        if (this.publisher.hasListeners) this.emitFailed(permits, at, 'ABORTED', 0);
        reject(signal.reason);
      };
      // Not unref'd: the caller awaits this wait as it would the call's I/O, so it keeps the
      // process alive; an abort clears it.
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        this.waiting--;
        if (this.publisher.hasListeners) this.emitAcquired(permits, this.clock.now(), waitMs);
        resolve();
      }, waitMs);
      signal.addEventListener('abort', onAbort, { once: true });
      // It may have aborted while a remote store was answering.
      if (signal.aborted) onAbort();
    });
  }

  private emitAcquired(permits: number, at: number, waitMs: number): void {
    this.publisher.emit({
      kind: 'ratelimiter',
      type: 'SUCCESSFUL_ACQUIRE',
      name: this.name,
      at,
      permits,
      waitMs,
    });
  }

  private emitFailed(
    permits: number,
    at: number,
    reason: 'NO_PERMIT' | 'ABORTED',
    retryAfterMs: number,
  ): void {
    this.publisher.emit({
      kind: 'ratelimiter',
      type: 'FAILED_ACQUIRE',
      name: this.name,
      at,
      permits,
      reason,
      retryAfterMs,
    });
  }

  private reconfigure(change: RateLimiterConfig): void {
    const next = resolveRateLimiterConfig({ ...this.settings, ...change }, this.name);
    this.timeoutMs = next.timeoutDuration;
    if (
      next.limitForPeriod !== this.settings.limitForPeriod ||
      next.limitRefreshPeriod !== this.settings.limitRefreshPeriod
    ) {
      // Engines are bound to their settings; a new one attaches to the same state.
      this.engine.close();
      this.engine = this.createEngine(next);
    }
    this.settings = next;
  }

  private createEngine(settings: RateLimiterSettings): RateLimiterEngine {
    if (this.store !== undefined) return this.store.rateLimiter(this.name, settings);
    return createLocalRateLimiterEngine(settings, (now) => {
      this.localCell ??= createRateLimiterCell(settings, now);
      return this.localCell;
    });
  }
}

/** Runs `fn`, turning a synchronous throw into a rejection; a native promise passes through unwrapped. */
function call<T>(fn: Supplier<T>, signal: AbortSignal | undefined): Promise<T> {
  try {
    return Promise.resolve(fn(signal ?? NEVER_ABORTED));
  } catch (error) {
    return Promise.reject(error);
  }
}
