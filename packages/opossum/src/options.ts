import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import {
  type CircuitBreakerConfig,
  type Clock,
  ConfigError,
  type Store,
  systemClock,
  type Unsubscribe,
} from '@breakwater/core';
import { type FleetTransitionMessage, mergeCircuitBreakerConfigs } from '@breakwater/core/engine';
import { CallOutcome, Verdict } from './call-outcome.js';
import { type CacheTransport, MemoryCache } from './memory-cache.js';
import { type Stats, Status } from './status.js';

/** What a breaker saved with `toJSON()` looked like; `state` in the options restores it. */
export interface State {
  name: string;
  enabled: boolean;
  closed: boolean;
  open: boolean;
  halfOpen: boolean;
  warmUp: boolean;
  shutdown: boolean;
  /**
   * When the breaker last opened (epoch ms), as opossum puts it here; undefined if it never did.
   * Typed `symbol` as @types/opossum types it, so that a breaker stays assignable to code typed
   * against @types/opossum; read it as `Number(state.lastTimerAt as unknown)`.
   */
  lastTimerAt: symbol;
}

/** The calls whose end clears the coalescing entry of their key (opossum's `coalesceResetOn`). */
export type CoalesceResetOn = 'error' | 'success' | 'timeout';

/**
 * The options of opossum 10 (as documented by opossum and typed by @types/opossum), plus three of
 * Breakwater's own: `store`, `breakwater` and `clock`. Defaults are opossum's.
 */
export interface Options<TI extends unknown[] = unknown[]> {
  /**
   * Stats to start from: a `Status` (see `CircuitBreaker.newStatus`), used as it is, or saved
   * `stats` (or anything with a `stats` property, such as opossum's own Status), copied.
   */
  status?: Status | { readonly stats: Partial<Stats> } | Partial<Stats> | undefined;
  /** Longest a call may run (ms) before it fails with ETIMEDOUT; `false` (or 0) for no limit. Default 10000. */
  timeout?: number | false | undefined;
  /** @deprecated Ignored, as in opossum (a warning says so); use `errorThresholdPercentage`. */
  maxFailures?: number | undefined;
  /** Time the breaker stays open before it lets one trial call through (ms). Default 30000. */
  resetTimeout?: number | undefined;
  /** Duration of the rolling window (ms). Default 10000. */
  rollingCountTimeout?: number | undefined;
  /** Slices of the rolling window of `stats`. Default 10. */
  rollingCountBuckets?: number | undefined;
  /** The breaker's name; with a `store`, processes share the breaker of the same name. Default: the action's name, else a UUID. */
  name?: string | undefined;
  /** A grouping key for reporting. Default: the name. */
  group?: string | undefined;
  /** Keep call durations for `latencyMean` and `percentiles` (-1 when off). Default true. */
  rollingPercentilesEnabled?: boolean | undefined;
  /** Calls allowed to run at once; more fail at once with ESEMLOCKED. Default: unlimited. */
  capacity?: number | undefined;
  /** Opens when the failure rate in the window exceeds this percentage. Default 50. */
  errorThresholdPercentage?: number | undefined;
  /** Protect calls from construction on (`false`: calls go straight to the action). Default true. */
  enabled?: boolean | undefined;
  /** Failures in the first `rollingCountTimeout` ms do not open the breaker. Default false. */
  allowWarmUp?: boolean | undefined;
  /** Calls the window must hold before the breaker may open. Default 0. */
  volumeThreshold?: number | undefined;
  /**
   * Called with the error (and the call's arguments) when the action fails: truthy means the
   * error does not count as a failure (it counts as a success, emits `success`, and the call
   * still rejects with it, without fallback).
   */
  // biome-ignore lint/suspicious/noExplicitAny: `err` is `any` as in @types/opossum, so that filters written against it (`err.statusCode === 404`) compile unchanged.
  errorFilter?: ((err: any, ...args: TI) => boolean) | undefined;
  /** Cache the first successful result per key (`cacheGetKey`) and serve it until `clearCache()` or `cacheTTL`. Default false. */
  cache?: boolean | undefined;
  /** Life of a cached result (ms); 0 keeps it until `clearCache()`. Default 0. */
  cacheTTL?: number | undefined;
  /** The cache key of a call's arguments. Default `JSON.stringify(args)`. */
  cacheGetKey?: ((...args: TI) => string) | undefined;
  /** Where cached results live. Default: a `MemoryCache` of `cacheSize` entries. */
  cacheTransport?: CacheTransport | undefined;
  /** Entries of the default cache transport. Default 2^24 - 1. */
  cacheSize?: number | undefined;
  /** Calls with the same key while one runs share its result (its promise). Default false. */
  coalesce?: boolean | undefined;
  /** How long a coalesced call is shared (ms); 0 until `clearCache()`. Default: `timeout` (0 when off). */
  coalesceTTL?: number | undefined;
  /** Entries of the coalescing cache. Default 2^24 - 1. */
  coalesceSize?: number | undefined;
  /** Ends of a call that stop sharing it at once. Default: none (only `coalesceTTL`). */
  coalesceResetOn?: readonly CoalesceResetOn[] | undefined;
  /** Aborted when a call times out, so that the action (given its signal) can stop. */
  abortController?: AbortController | undefined;
  /** Replace an aborted `abortController` when the breaker goes half-open or closed. Default false. */
  autoRenewAbortController?: boolean | undefined;
  /** Emit `snapshot` on `status` at every slice. Default true. */
  enableSnapshots?: boolean | undefined;
  /** Rotate the `stats` slices on this emitter's `rotate` events instead of a timer per breaker. */
  rotateBucketController?: EventEmitter | undefined;
  /** A state saved with `toJSON().state` to start from (ignored with a `store`: the shared state wins). */
  state?: Partial<Omit<State, 'lastTimerAt'>> & { lastTimerAt?: unknown };

  // ------------------------------------------------------------------ Breakwater's own

  /**
   * Where the breaker's state lives: any Breakwater store. With a `RedisStore`, every process that
   * creates a breaker of the same `name` on the same Redis shares one breaker. Default: in-process.
   */
  store?: Store | undefined;
  /**
   * Breakwater options laid over the ones mapped from opossum's, e.g. slow-call detection
   * (`slowCallDurationThreshold`, `slowCallRateThreshold`) or a COUNT_BASED window. How errors
   * count stays `errorFilter`'s business.
   */
  breakwater?: BreakwaterOverrides | undefined;
  /** Time source for the breaker's windows, waits and latencies (tests). Default: the system clock. */
  clock?: Clock | undefined;
}

/** The Breakwater options the `breakwater` option may set: all but the error classification. */
export type BreakwaterOverrides = Omit<
  CircuitBreakerConfig,
  'recordExceptions' | 'ignoreExceptions' | 'recordResult'
>;

/** The options checked, with every default filled in. */
export interface Settings {
  readonly name: string;
  readonly group: string;
  /** 0: no time limit. */
  readonly timeout: number;
  readonly resetTimeout: number;
  readonly errorThresholdPercentage: number;
  readonly rollingCountTimeout: number;
  readonly rollingCountBuckets: number;
  readonly rollingPercentilesEnabled: boolean;
  readonly enableSnapshots: boolean;
  /** Undefined: unlimited. */
  readonly capacity: number | undefined;
  readonly volumeThreshold: number;
  readonly allowWarmUp: boolean;
  readonly enabled: boolean;
  readonly cacheTTL: number;
  readonly coalesceTTL: number;
  readonly coalesceResetOn: ReadonlySet<CoalesceResetOn>;
}

/** The longest timeout a timer can hold (~24.8 days); longer ones are cut to it. */
const MAX_TIMEOUT_MS = 2_147_483_647;
/** The largest bulkhead Breakwater builds; a larger capacity is no limit in practice. */
const MAX_CAPACITY = 1_000_000_000;

/** Checks the options once, at construction: a bad value is a ConfigError naming the field. */
export function resolveSettings(action: unknown, options: Options<never>): Settings {
  const given =
    nonEmptyString(options.name) ?? (typeof action === 'function' ? nonEmptyString(action.name) : undefined);
  const name = given ?? randomUUID();
  const fail = (field: string, value: unknown, allowed: string): never => {
    throw optionError(name, field, value, allowed);
  };
  if (given === undefined && options.store !== undefined && options.store !== null) {
    fail(
      'name',
      options.name,
      'a name when a store is given (processes share the breaker of the same name), or an action with a name',
    );
  }
  const number = (field: keyof Options, fallback: number, min: number, exclusive = false): number => {
    const v = options[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || (exclusive ? v <= min : v < min)) {
      fail(field, v, `a finite number ${exclusive ? '>' : '>='} ${min}`);
    }
    return v as number;
  };

  let timeout = 10_000;
  if (options.timeout === false) timeout = 0;
  else timeout = Math.min(number('timeout', 10_000, 0), MAX_TIMEOUT_MS);

  const rollingCountBuckets = options.rollingCountBuckets ?? 10;
  if (!Number.isInteger(rollingCountBuckets) || rollingCountBuckets < 1) {
    fail('rollingCountBuckets', rollingCountBuckets, 'an integer >= 1');
  }
  const resetOn = options.coalesceResetOn ?? [];
  if (!Array.isArray(resetOn)) fail('coalesceResetOn', resetOn, "an array of 'error', 'success', 'timeout'");
  if (options.abortController !== undefined && typeof options.abortController?.abort !== 'function') {
    fail('abortController', options.abortController, 'an AbortController (with an abort() method)');
  }
  const overrides: Record<string, unknown> | undefined = options.breakwater;
  for (const field of ['recordExceptions', 'ignoreExceptions', 'recordResult']) {
    if (overrides?.[field] !== undefined) {
      fail(`breakwater.${field}`, overrides[field], 'absent: errorFilter decides how errors count');
    }
  }

  return Object.freeze({
    name,
    group: nonEmptyString(options.group) ?? name,
    timeout,
    resetTimeout: number('resetTimeout', 30_000, 0),
    errorThresholdPercentage: number('errorThresholdPercentage', 50, 0),
    rollingCountTimeout: number('rollingCountTimeout', 10_000, 0, true),
    rollingCountBuckets,
    rollingPercentilesEnabled: options.rollingPercentilesEnabled !== false,
    enableSnapshots: options.enableSnapshots !== false,
    // As opossum: a capacity that is not an integer means no limit; a negative one admits nothing.
    capacity:
      Number.isInteger(options.capacity) && (options.capacity as number) <= MAX_CAPACITY
        ? Math.max(0, options.capacity as number)
        : undefined,
    // As opossum: a volume threshold that is not an integer means none.
    volumeThreshold: Number.isInteger(options.volumeThreshold)
      ? Math.max(0, options.volumeThreshold as number)
      : 0,
    allowWarmUp: options.allowWarmUp === true,
    enabled: options.enabled !== false,
    cacheTTL: number('cacheTTL', 0, 0),
    coalesceTTL: number('coalesceTTL', timeout, 0),
    coalesceResetOn: new Set(
      (resetOn as readonly unknown[]).filter(
        (o): o is CoalesceResetOn => o === 'error' || o === 'success' || o === 'timeout',
      ),
    ),
  });
}

/** Where the rate threshold goes beyond what any window can reach (opossum: a rate cannot exceed 100%). */
const NEVER_REACHED = 1_000_000_000;
/**
 * opossum opens when the failure rate EXCEEDS the threshold; Breakwater trips AT it. Raising the
 * threshold by this much makes the two agree for every window of fewer than 10^7 calls: with an
 * integer threshold t, failures * 100 >= (t + 1e-7) * calls holds exactly when failures * 100 > t * calls.
 */
const STRICTLY_ABOVE = 1e-7;

/**
 * opossum's decision rules as a Breakwater config: a TIME_BASED window of whole seconds, the
 * threshold exceeded (not reached), at least `volumeThreshold` calls, one trial call after
 * `resetTimeout` (reached without a call, as opossum's timer does), no slow-call detection.
 * `overrides` (the `breakwater` option) go on top.
 */
export function breakwaterConfig(
  s: Settings,
  overrides: BreakwaterOverrides | undefined,
): CircuitBreakerConfig {
  const threshold = s.errorThresholdPercentage;
  const neverByRate = threshold + STRICTLY_ABOVE > 100;
  const mapped: CircuitBreakerConfig = {
    slidingWindowType: 'TIME_BASED',
    slidingWindowSize: Math.min(86_400, Math.max(1, Math.ceil(s.rollingCountTimeout / 1000))),
    minimumNumberOfCalls: neverByRate ? NEVER_REACHED : Math.max(1, s.volumeThreshold),
    failureRateThreshold: neverByRate ? 100 : threshold + STRICTLY_ABOVE,
    slowCallRateThreshold: 100,
    slowCallDurationThreshold: Number.MAX_SAFE_INTEGER,
    permittedNumberOfCallsInHalfOpenState: 1,
    halfOpenPolicy: 'successes',
    successThresholdInHalfOpenState: 1,
    waitDurationInOpenState: Math.max(1, s.resetTimeout),
    automaticTransitionFromOpenToHalfOpenEnabled: true,
    // Calls that go through Breakwater's execute fail with a judged CallOutcome: its verdict decides.
    recordExceptions: isCountedFailure,
    ignoreExceptions: isIgnored,
  };
  // Where the two set options that exclude each other, the override's choice wins.
  return overrides === undefined ? mapped : mergeCircuitBreakerConfigs(mapped, overrides);
}

/** A store that also tells every process's transitions (RedisStore does). */
export interface FleetStore extends Store {
  onFleetTransition?(listener: (message: FleetTransitionMessage) => void): Unsubscribe;
  readonly options?: { readonly processId?: string };
}

/** The `clock` option, checked. */
export function clockOption(clock: unknown, name: string): Clock {
  if (clock === undefined) return systemClock;
  if (typeof (clock as Partial<Clock> | null)?.now !== 'function') {
    throw optionError(name, 'clock', clock, 'an object with a now() method returning epoch milliseconds');
  }
  return clock as Clock;
}

/** The `store` option, checked: a store that holds circuit breakers, or undefined. */
export function storeOption(store: unknown, name: string): FleetStore | undefined {
  if (store === undefined || store === null) return undefined;
  if (typeof (store as Partial<Store>).circuitBreaker !== 'function') {
    throw optionError(
      name,
      'store',
      store,
      'a Breakwater store that holds circuit breakers (it has a circuitBreaker() method)',
    );
  }
  return store as FleetStore;
}

/** The transport of the cache (with `cache`): the one given, checked, or a MemoryCache of `cacheSize`. */
export function cacheTransportOption(options: Options<never>): CacheTransport {
  const transport = options.cacheTransport;
  if (transport === undefined) return new MemoryCache(options.cacheSize);
  if (
    typeof transport !== 'object' ||
    transport === null ||
    typeof transport.get !== 'function' ||
    typeof transport.set !== 'function' ||
    typeof transport.flush !== 'function'
  ) {
    throw new TypeError('options.cacheTransport should be an object with `get`, `set` and `flush` methods');
  }
  return transport;
}

/** The breaker's Status: the one given, or a new one (with the saved stats given, if any). */
export function statusOption(options: Options<never>, s: Settings): Status {
  const given = options.status;
  if (given instanceof Status) return given;
  // Another status object (opossum's own, say): its stats. Saved stats: themselves.
  const stats =
    given !== null && typeof given === 'object' && 'stats' in given && typeof given.stats === 'object'
      ? (given.stats as Partial<Stats>)
      : (given as Partial<Stats> | undefined);
  return new Status({
    rollingCountTimeout: s.rollingCountTimeout,
    rollingCountBuckets: s.rollingCountBuckets,
    rollingPercentilesEnabled: s.rollingPercentilesEnabled,
    enableSnapshots: s.enableSnapshots,
    rotateBucketController: options.rotateBucketController,
    stats,
  });
}

function isCountedFailure(error: unknown): boolean {
  return !(error instanceof CallOutcome) || error.verdict === Verdict.Failure;
}

function isIgnored(error: unknown): boolean {
  return error instanceof CallOutcome && error.verdict === Verdict.Ignored;
}

/** A bad option of the breaker `name`: the field, the value, and what is allowed. */
function optionError(name: string, field: string, value: unknown, allowed: string): ConfigError {
  return new ConfigError(`CircuitBreaker '${name}' options`, {
    field,
    value,
    allowed,
    policy: { kind: 'circuitbreaker', name },
  });
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
