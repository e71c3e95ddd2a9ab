import {
  CircuitBreaker,
  type CircuitBreakerConfig,
  type Clock,
  ConfigError,
  systemClock,
} from '@breakwater/core';
import { ConfigReader } from '@breakwater/core/engine';
import { isTierOutage } from './cache-errors.js';
import type { RedisCacheStore } from './redis-cache-store.js';
import { JSON_SERIALIZER, type Serializer } from './serializer.js';

/** The in-process tier (L1): an LRU bounded by entries. */
export interface L1Options {
  /** Entries kept at most; the least recently used goes first. Default 10,000. */
  readonly maxEntries?: number;
  /**
   * Hand out a copy of the value on every read (`structuredClone`), and keep a copy of what is
   * stored, for callers that mutate what they get. Default false: the stored value itself, by
   * reference, as lru-cache does (the fastest hit; do not mutate it).
   */
  readonly copyOnRead?: boolean;
}

/** One load per key across the fleet: a short Redis lock per key, and waiting for its holder's value. */
export interface FleetLockOptions {
  /** How long a lock lives without renewal (its holder renews it while its loader runs). Default 2,000 ms. */
  readonly ttlMs?: number;
  /** How long a process waits for another's value before it runs its own loader. Default 5,000 ms. */
  readonly waitMs?: number;
}

export interface CacheOptions<T> {
  /** How long a loaded value is fresh (ms). Required. */
  readonly ttlMs: number;
  /** A random 0..ttlJitterMs added to each entry's ttl, so that entries loaded together expire apart. Default 0. */
  readonly ttlJitterMs?: number;
  /** How long after it stops being fresh an entry still answers while the loader fails or is slow. Default 0 (never). */
  readonly graceMs?: number;
  /** With a stale entry at hand, a loader slower than this is answered with it and finishes in the background. Default: none (wait). */
  readonly softTimeoutMs?: number;
  /** Refresh in the background once this share of the fresh life has passed (e.g. 0.8), on the first get after it. Default: none. */
  readonly earlyRefresh?: number;
  /** The in-process tier, or `false` for none. Default `{ maxEntries: 10_000 }`. */
  readonly l1?: L1Options | false;
  /** The shared tier. Default: none. */
  readonly l2?: RedisCacheStore;
  /** Longest wait for a shared-tier command before the cache goes on without it (ms; `clear()`: 5 s). Default 50. */
  readonly l2TimeoutMs?: number;
  /**
   * Guards the shared tier: while OPEN, gets skip it and go to the loader at once. It records
   * connection errors and timeouts (as CacheTierError), never a miss or an error reply. Pass one
   * on a RedisStore to share its state with the whole fleet. Default: `CircuitBreaker.of('cache:' +
   * name, CACHE_BREAKER_CONFIG)`, in-process.
   */
  readonly breaker?: CircuitBreaker;
  /** Part of every shared key: bump it to leave every entry of older versions behind. Default 1. */
  readonly version?: number | string;
  /** Coordinate loads across the fleet (needs `l2`). Default false: one load per key per process. */
  readonly fleetLock?: boolean | FleetLockOptions;
  /** Turns values into the shared tier's text. Default JSON. */
  readonly serializer?: Serializer<T>;
  /**
   * Largest serialized value written to the shared tier (bytes); a larger one is cached nowhere.
   * Default 1 MiB. Values are serialized only to be written: without a shared tier, or while its
   * breaker is open, L1 keeps them whatever their size (it is bounded by `maxEntries`).
   */
  readonly maxValueBytes?: number;
  /** Time source of entry lifetimes. Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * The shared tier's breaker, by default: open after 10 failures (connection errors, timeouts)
 * within 60 s, for 3 minutes; then one probe decides (a success closes it, a failure reopens it).
 * The failure rate threshold is 100 % so that only the count decides in CLOSED.
 */
export const CACHE_BREAKER_CONFIG: CircuitBreakerConfig = Object.freeze({
  slidingWindowType: 'TIME_BASED',
  slidingWindowSize: 60,
  failureCountThreshold: 10,
  failureRateThreshold: 100,
  waitDurationInOpenState: 180_000,
  permittedNumberOfCallsInHalfOpenState: 1,
  halfOpenPolicy: 'successes',
  recordExceptions: isTierOutage,
});

export const CACHE_DEFAULTS = Object.freeze({
  l1MaxEntries: 10_000,
  l2TimeoutMs: 50,
  version: 1,
  lockTtlMs: 2_000,
  lockWaitMs: 5_000,
  maxValueBytes: 1_048_576,
});

/** The options with every default filled in. */
export interface CacheSettings<T> {
  readonly ttlMs: number;
  readonly ttlJitterMs: number;
  readonly graceMs: number;
  readonly softTimeoutMs: number | undefined;
  readonly earlyRefresh: number | undefined;
  readonly l1: { readonly maxEntries: number; readonly copyOnRead: boolean } | undefined;
  readonly l2: RedisCacheStore | undefined;
  readonly l2TimeoutMs: number;
  readonly breaker: CircuitBreaker;
  readonly version: string;
  readonly fleetLock: { readonly ttlMs: number; readonly waitMs: number } | undefined;
  readonly serializer: Serializer<T>;
  readonly maxValueBytes: number;
  readonly clock: Clock;
}

const KNOWN = [
  'ttlMs',
  'ttlJitterMs',
  'graceMs',
  'softTimeoutMs',
  'earlyRefresh',
  'l1',
  'l2',
  'l2TimeoutMs',
  'breaker',
  'version',
  'fleetLock',
  'serializer',
  'maxValueBytes',
  'clock',
];

/** Characters a cache name may not hold: they would make its keys ambiguous or its SCAN pattern wrong. */
const NAME_FORBIDDEN = /[:*?[\]\\{}\s]/;

export function validateCacheName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || NAME_FORBIDDEN.test(name)) {
    throw new ConfigError('Cache name', {
      field: 'name',
      value: name,
      allowed: "a string of 1 to 200 characters without ':', '*', '?', '[', ']', '\\', '{', '}' or spaces",
    });
  }
  return name;
}

export function resolveCacheOptions<T>(name: string, options: CacheOptions<T>): CacheSettings<T> {
  const subject = `Cache '${name}' options`;
  const r = new ConfigReader(subject, options, KNOWN);
  if (options === undefined || options === null || options.ttlMs === undefined) {
    r.fail('ttlMs', 'a number of milliseconds > 0 (required)', undefined);
  }
  const ttlMs = r.number('ttlMs', 0, 0, Number.MAX_SAFE_INTEGER, true);
  const ttlJitterMs = r.number('ttlJitterMs', 0, 0, Number.MAX_SAFE_INTEGER);
  const graceMs = r.number('graceMs', 0, 0, Number.MAX_SAFE_INTEGER);
  const softTimeoutMs = r.has('softTimeoutMs') ? r.number('softTimeoutMs', 0, 0) : undefined;
  const earlyRefresh = r.has('earlyRefresh') ? r.number('earlyRefresh', 0, 0, 1, true) : undefined;
  if (earlyRefresh === 1) r.fail('earlyRefresh', 'a share of the fresh life in (0, 1)');

  let l1: CacheSettings<T>['l1'];
  if (options.l1 === false) l1 = undefined;
  else {
    const l = new ConfigReader(`${subject}: l1`, options.l1, ['maxEntries', 'copyOnRead']);
    l1 = {
      maxEntries: l.integer('maxEntries', CACHE_DEFAULTS.l1MaxEntries, 1),
      copyOnRead: l.boolean('copyOnRead', false),
    };
  }

  const l2 = options.l2;
  if (l2 !== undefined && typeof (l2 as Partial<RedisCacheStore> | null)?.entryKey !== 'function') {
    r.fail('l2', 'a RedisCacheStore');
  }
  const l2TimeoutMs = r.number('l2TimeoutMs', CACHE_DEFAULTS.l2TimeoutMs, 0, 60_000, true);

  const breaker = options.breaker ?? CircuitBreaker.of(`cache:${name}`, CACHE_BREAKER_CONFIG);
  if (typeof (breaker as Partial<CircuitBreaker> | null)?.execute !== 'function') {
    r.fail('breaker', 'a CircuitBreaker from @breakwater/core');
  }

  const v = options.version ?? CACHE_DEFAULTS.version;
  const versionOk =
    (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) ||
    (typeof v === 'string' && v.length > 0 && v.length <= 64 && !NAME_FORBIDDEN.test(v));
  if (!versionOk) r.fail('version', "an integer >= 0, or a short string without ':' or glob characters");

  let fleetLock: CacheSettings<T>['fleetLock'];
  const fl = options.fleetLock;
  if (fl !== undefined && fl !== false) {
    if (l2 === undefined) r.fail('fleetLock', 'false without an l2 store (the lock lives in Redis)');
    const f = new ConfigReader(`${subject}: fleetLock`, fl === true ? {} : fl, ['ttlMs', 'waitMs']);
    fleetLock = {
      ttlMs: f.integer('ttlMs', CACHE_DEFAULTS.lockTtlMs, 100),
      waitMs: f.number('waitMs', CACHE_DEFAULTS.lockWaitMs, 0),
    };
  }

  const serializer = (options.serializer ?? JSON_SERIALIZER) as Serializer<T>;
  if (typeof serializer?.serialize !== 'function' || typeof serializer?.deserialize !== 'function') {
    r.fail('serializer', 'an object with serialize(value) => string and deserialize(text) => value');
  }
  const maxValueBytes = r.integer('maxValueBytes', CACHE_DEFAULTS.maxValueBytes, 1);
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function') r.fail('clock', 'an object with now() returning epoch ms');

  return {
    ttlMs,
    ttlJitterMs,
    graceMs,
    softTimeoutMs,
    earlyRefresh,
    l1,
    l2,
    l2TimeoutMs,
    breaker,
    version: String(v),
    fleetLock,
    serializer,
    maxValueBytes,
    clock,
  };
}
