import type { CircuitBreakerStateName } from '@breakwater/core';
import { ConfigReader } from '@breakwater/core/engine';
import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { describeTransition, errorMessage, isTransition } from './format.js';
import type { EventShape } from './types.js';

interface AlertBase {
  readonly kind: 'alert';
  /** Epoch ms: when the event happened (its `at`), or when the window closed for SUPPRESSED. */
  readonly at: number;
  /** One line for humans, e.g. `Circuit upbit/kr/ticker: CLOSED -> OPEN (failure rate 60%)`. */
  readonly message: string;
}

/** A circuit breaker went OPEN or FORCED_OPEN. */
export interface CircuitOpenAlert extends AlertBase {
  readonly type: 'CIRCUIT_OPEN';
  /** What the cooldown is counted by: the breaker's name. */
  readonly key: string;
  readonly name: string;
  readonly from: CircuitBreakerStateName;
  readonly to: 'OPEN' | 'FORCED_OPEN';
  readonly reason: string;
  readonly failureRate: number;
  readonly slowCallRate: number;
  /** The process that made the transition, for fleet-wide events. */
  readonly origin?: string;
}

/** A store (Redis) stopped answering and its failure policy applies. */
export interface StoreFailureAlert extends AlertBase {
  readonly type: 'STORE_FAILURE';
  /** `store:<name>`, so a store never shares a cooldown with a breaker of the same name. */
  readonly key: string;
  /** The store's name (RedisStore: its key prefix). */
  readonly name: string;
  readonly error: unknown;
  /** The store's failure policy (`'local'`, `'allow'`, `'deny'`), when the event says. */
  readonly policy?: string;
  readonly origin?: string;
}

/** The cache events that raise a CacheErrorAlert. */
export const CACHE_ALERT_EVENTS = Object.freeze(['L2_ERROR', 'LOADER_ERROR', 'WRITE_BACK_FAILED'] as const);
export type CacheAlertEvent = (typeof CACHE_ALERT_EVENTS)[number];

/**
 * A cache (`@breakwater/cache`) could not use its shared tier (L2_ERROR, WRITE_BACK_FAILED), or
 * its loader failed (LOADER_ERROR). The caller may well have had its value (from the loader, or a
 * stale one): the alert is about what went wrong on the way.
 */
export interface CacheErrorAlert extends AlertBase {
  readonly type: 'CACHE_ERROR';
  /** `cache:<name>:<cache key>`: one cooldown per cached key, counted against `maxKeys`. */
  readonly key: string;
  /** The cache's name. */
  readonly name: string;
  /** The key of the entry, e.g. `user:42` (`*` for a clear). */
  readonly cacheKey: string;
  readonly event: CacheAlertEvent;
  readonly error: unknown;
  readonly origin?: string;
}

/** What a cooldown window held back: sent when the window closes, if anything was held back. */
export interface SuppressedAlert extends AlertBase {
  readonly type: 'SUPPRESSED';
  /** Alerts held back in the window (repeats within a key's cooldown, and keys beyond `maxKeys`). */
  readonly count: number;
  /** The keys held back, in order of first appearance (at most 50). */
  readonly keys: readonly string[];
  /** True when more keys were held back than `keys` lists. */
  readonly keysTruncated: boolean;
  /** Epoch ms: when the window opened. */
  readonly since: number;
}

export type Alert = CircuitOpenAlert | StoreFailureAlert | CacheErrorAlert | SuppressedAlert;

export interface AlertsOptions {
  /** At most one alert per key per this many ms; also the length of the `maxKeys` window. Default 600,000 (10 min). 0 turns throttling off. */
  readonly cooldownMs?: number;
  /** At most this many distinct keys alert per window; the rest are counted into a SUPPRESSED alert. Default 6. */
  readonly maxKeys?: number;
  /** Time source and timer for the windows. Default `asyncScheduler` (TestScheduler-aware). */
  readonly scheduler?: SchedulerLike;
}

export const ALERTS_DEFAULTS = Object.freeze({ cooldownMs: 600_000, maxKeys: 6 });

/** Keys listed in a SUPPRESSED alert at most (the count has no limit). */
export const MAX_SUPPRESSED_KEYS = 50;

interface Window {
  readonly start: number;
  /** Keys that alerted in this window. */
  readonly alerted: Set<string>;
  readonly held: Set<string>;
  heldCount: number;
  heldTruncated: boolean;
  timer: Subscription | undefined;
}

/**
 * Turns events into alerts: a breaker's transition into OPEN or FORCED_OPEN (keyed by the breaker's
 * name), a store's STORE_FAILURE (keyed `store:<name>`) and a cache's L2_ERROR, LOADER_ERROR or
 * WRITE_BACK_FAILED (keyed `cache:<name>:<cache key>`) raise one; every other event raises
 * nothing. At most one alert per key per `cooldownMs`, and at most `maxKeys` distinct keys per
 * window of `cooldownMs` (opened by the first alert-worthy event); what is held back is counted
 * and, when the window closes (or the source ends), summarised in one SUPPRESSED alert.
 */
export function alerts<E extends EventShape>(options: AlertsOptions = {}): OperatorFunction<E, Alert> {
  const r = new ConfigReader('alerts options', options, ['cooldownMs', 'maxKeys', 'scheduler']);
  const cooldownMs = r.number('cooldownMs', ALERTS_DEFAULTS.cooldownMs, 0);
  const maxKeys = r.integer('maxKeys', ALERTS_DEFAULTS.maxKeys, 1);
  const scheduler = options.scheduler ?? asyncScheduler;
  if (typeof scheduler.now !== 'function' || typeof scheduler.schedule !== 'function') {
    r.fail('scheduler', 'an RxJS scheduler (with now() and schedule())');
  }

  return (source) =>
    new Observable<Alert>((subscriber) => {
      /** Last alert per key, pruned once its cooldown is over (so at most about 2 x maxKeys entries). */
      const lastAlert = new Map<string, number>();
      let window: Window | undefined;

      const closeWindow = (at: number) => {
        const w = window;
        if (w === undefined) return;
        window = undefined;
        w.timer?.unsubscribe();
        if (w.heldCount === 0) return;
        const keys = [...w.held];
        subscriber.next({
          kind: 'alert',
          type: 'SUPPRESSED',
          at,
          since: w.start,
          count: w.heldCount,
          keys,
          keysTruncated: w.heldTruncated,
          message: `${w.heldCount} alert${w.heldCount === 1 ? '' : 's'} suppressed since ${new Date(w.start).toISOString()} (${keys.join(', ')}${w.heldTruncated ? ', ...' : ''})`,
        });
      };

      const openWindow = (now: number): Window => {
        const w: Window = {
          start: now,
          alerted: new Set(),
          held: new Set(),
          heldCount: 0,
          heldTruncated: false,
          timer: undefined,
        };
        window = w;
        w.timer = scheduler.schedule(() => {
          if (window === w) closeWindow(w.start + cooldownMs);
        }, cooldownMs);
        unref(w.timer);
        return w;
      };

      const subscription = source.subscribe({
        next(event) {
          const alert = toAlert(event);
          if (alert === undefined) return;
          if (cooldownMs === 0) {
            subscriber.next(alert);
            return;
          }
          const now = scheduler.now();
          // A window due to close at this very instant closes first (timers and events may tie).
          if (window !== undefined && now >= window.start + cooldownMs)
            closeWindow(window.start + cooldownMs);
          const w = window ?? openWindow(now);
          const last = lastAlert.get(alert.key);
          const coolingDown = last !== undefined && now - last < cooldownMs;
          const full = !w.alerted.has(alert.key) && w.alerted.size >= maxKeys;
          if (coolingDown || full) {
            w.heldCount++;
            if (w.held.size < MAX_SUPPRESSED_KEYS) w.held.add(alert.key);
            else if (!w.held.has(alert.key)) w.heldTruncated = true;
            return;
          }
          for (const [key, at] of lastAlert) if (now - at >= cooldownMs) lastAlert.delete(key);
          lastAlert.set(alert.key, now);
          w.alerted.add(alert.key);
          subscriber.next(alert);
        },
        error(error: unknown) {
          closeWindow(scheduler.now());
          subscriber.error(error);
        },
        complete() {
          closeWindow(scheduler.now());
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        window?.timer?.unsubscribe();
        window = undefined;
      };
    });
}

/**
 * Like the breakers' own timers, a window's timer never keeps the process alive: with the default
 * scheduler the action holds a Node timer, which is unref'd (other schedulers are left alone).
 */
function unref(action: Subscription): void {
  const id = (action as unknown as { id?: unknown }).id;
  if (typeof id === 'object' && id !== null && typeof (id as { unref?: unknown }).unref === 'function') {
    (id as { unref(): void }).unref();
  }
}

const CACHE_ALERTS: ReadonlySet<string> = new Set(CACHE_ALERT_EVENTS);

/** The alert an event raises before throttling, or undefined. */
export function toAlert(
  event: EventShape,
): CircuitOpenAlert | StoreFailureAlert | CacheErrorAlert | undefined {
  if (isTransition(event)) {
    if (event.to !== 'OPEN' && event.to !== 'FORCED_OPEN') return undefined;
    const origin = typeof event.origin === 'string' ? event.origin : undefined;
    return {
      kind: 'alert',
      type: 'CIRCUIT_OPEN',
      key: event.name,
      name: event.name,
      at: event.at,
      from: event.from,
      to: event.to,
      reason: event.reason,
      failureRate: event.failureRate,
      slowCallRate: event.slowCallRate,
      ...(origin === undefined ? {} : { origin }),
      message: describeTransition(event) + (origin === undefined ? '' : ` on ${origin}`),
    };
  }
  if (event.kind === 'cache' && CACHE_ALERTS.has(event.type)) return cacheAlert(event);
  if (event.kind === 'store' && event.type === 'STORE_FAILURE') {
    const e = event as EventShape & { error?: unknown; policy?: unknown; origin?: unknown };
    const origin = typeof e.origin === 'string' ? e.origin : undefined;
    const policy = typeof e.policy === 'string' ? e.policy : undefined;
    return {
      kind: 'alert',
      type: 'STORE_FAILURE',
      key: `store:${event.name}`,
      name: event.name,
      at: event.at,
      error: e.error,
      ...(policy === undefined ? {} : { policy }),
      ...(origin === undefined ? {} : { origin }),
      message:
        `Store ${event.name}: failing (${errorMessage(e.error)})` +
        (policy === undefined ? '' : `, failure policy '${policy}'`) +
        (origin === undefined ? '' : ` on ${origin}`),
    };
  }
  return undefined;
}

function cacheAlert(event: EventShape): CacheErrorAlert {
  const e = event as EventShape & { key?: unknown; error?: unknown; errorType?: unknown; origin?: unknown };
  const cacheKey = typeof e.key === 'string' ? e.key : '';
  const origin = typeof e.origin === 'string' ? e.origin : undefined;
  const what =
    event.type === 'LOADER_ERROR'
      ? 'loader failed'
      : event.type === 'WRITE_BACK_FAILED'
        ? 'write-back to Redis failed'
        : 'Redis failed';
  const detail =
    typeof e.errorType === 'string' ? `${e.errorType}: ${errorMessage(e.error)}` : errorMessage(e.error);
  return {
    kind: 'alert',
    type: 'CACHE_ERROR',
    key: `cache:${event.name}:${cacheKey}`,
    name: event.name,
    cacheKey,
    event: event.type as CacheAlertEvent,
    at: event.at,
    error: e.error,
    ...(origin === undefined ? {} : { origin }),
    message:
      `Cache ${event.name}: ${what} for ${cacheKey} (${detail})` +
      (origin === undefined ? '' : ` on ${origin}`),
  };
}
