import { randomUUID } from 'node:crypto';
import type { CircuitBreaker, MaybePromise, ReadThroughCache, Unsubscribe } from '@breakwater/core';
import { EventPublisher } from '@breakwater/core/engine';
import { type CacheEventDetails, publishCacheEvent } from './cache-event-publish.js';
import type { CacheEvent, CacheEventType, CacheTier } from './cache-events.js';
import { CacheCounters, type CacheMetrics } from './cache-metrics.js';
import {
  type CacheOptions,
  type CacheSettings,
  resolveCacheOptions,
  validateCacheName,
} from './cache-options.js';
import { type Entry, encodeEntry, refreshDue } from './entry.js';
import { Flight } from './flight.js';
import { Lru } from './lru.js';
import { SharedTier } from './shared-tier.js';

/** Loads the value of a key the cache does not hold; `signal` aborts when no caller waits for it any more. */
export type Loader<T> = (signal: AbortSignal) => MaybePromise<T>;

/** How often a process waiting for another's load looks for its value (a notification wakes it sooner). */
const LOCK_POLL_MS = 50;

/** What caches of one name tell each other on their channel. */
interface BusMessage {
  /** The instance that sent it (it ignores its own). */
  readonly o: string;
  /** The version of the keys. */
  readonly v: string;
  /** `del`: drop them; `set`: a newer value is in Redis; `clear`: drop everything (every version). */
  readonly op: 'del' | 'set' | 'clear';
  readonly k?: readonly string[];
}

type Encoded = string | 'unserializable' | 'too-large';

/** A write to the shared tier in progress (wrapped: a promise returned from an async function would be flattened). */
interface WriteBack {
  readonly written: Promise<boolean>;
}

/**
 * A read-through cache: an in-process tier (L1, an LRU) in front of a shared tier (L2, Redis)
 * in front of the loader. A get is answered by the first tier holding a fresh entry; a miss runs
 * the loader once per key in the process (optionally once in the fleet), writes its value to L1 at
 * once and to L2 without making the caller wait, and answers every caller that missed meanwhile.
 *
 * The shared tier never makes a get fail or wait long: each command is bounded by `l2TimeoutMs`
 * and goes through a circuit breaker, and while it is OPEN gets skip Redis entirely. With
 * `graceMs`, an entry past its ttl still answers when the loader fails (or is slower than
 * `softTimeoutMs`).
 *
 * ```ts
 * const users = Cache.of<User>('users', { ttlMs: 60_000, l2: new RedisCacheStore({ client }) });
 * const user = await users.get(`user:${id}`, (signal) => db.findUser(id, { signal }));
 * ```
 */
export class Cache<T> implements ReadThroughCache<T> {
  readonly kind = 'cache' as const;
  readonly name: string;
  /** The options with every default filled in. */
  readonly config: CacheSettings<T>;
  /** The breaker guarding the shared tier (report it with collectMetrics, watch it with eventsOf). */
  readonly breaker: CircuitBreaker;
  private readonly l1: Lru<Entry<T>> | undefined;
  private readonly copy: boolean;
  private readonly shared: SharedTier<T> | undefined;
  private readonly flights = new Map<string, Flight<T>>();
  private readonly counters = new CacheCounters();
  private readonly publisher = new EventPublisher<CacheEvent>();
  private readonly instanceId = randomUUID();
  /** Processes waiting for another's load, by key: woken by the holder's notification. */
  private readonly lockWaiters = new Map<string, Set<() => void>>();
  private readonly offs: Unsubscribe[] = [];

  static of<T>(name: string, options: CacheOptions<T>): Cache<T> {
    return new Cache<T>(name, options);
  }

  constructor(name: string, options: CacheOptions<T>) {
    this.name = validateCacheName(name);
    const config = resolveCacheOptions(name, options);
    this.config = config;
    this.breaker = config.breaker;
    this.l1 = config.l1 === undefined ? undefined : new Lru<Entry<T>>(config.l1.maxEntries);
    this.copy = config.l1?.copyOnRead === true;
    const store = config.l2;
    if (store !== undefined) {
      this.shared = new SharedTier<T>(store, config.breaker, config.l2TimeoutMs, {
        name,
        version: config.version,
        counters: this.counters,
        publisher: this.publisher,
        serializer: config.serializer,
        now: () => config.clock.now(),
      });
      this.offs.push(
        store.subscribe(store.channel(name), (message) => this.onBusMessage(message)),
        // Messages sent while the bus was down are lost: what L1 holds may have been changed.
        store.onBusReconnect(() => this.distrustL1()),
      );
    }
  }

  // ------------------------------------------------------------------ reads

  /**
   * The value of `key`: from the first tier holding a fresh entry, else from `loader` (once per key
   * at a time), which the cache then keeps. Rejects only with the loader's error (when no stale
   * entry can answer) or the caller's abort; the shared tier's failures never reach the caller.
   */
  get(key: string, loader: Loader<T>, signal?: AbortSignal): Promise<T> {
    const l1 = this.l1;
    let stale: Entry<T> | undefined;
    if (l1 !== undefined) {
      const entry = l1.get(key);
      if (entry !== undefined) {
        const now = this.config.clock.now();
        if (now < entry.freshUntil) {
          this.counters.l1Hits++;
          if (this.publisher.hasListeners) this.emitTier('HIT', key, 'l1', now);
          const ratio = this.config.earlyRefresh;
          if (ratio !== undefined && refreshDue(entry, now, ratio) && !this.flights.has(key)) {
            this.startFlight(key, loader, entry, true);
          }
          return Promise.resolve(this.copy ? structuredClone(entry.value) : entry.value);
        }
        if (now < entry.staleUntil) stale = entry;
        else l1.delete(key);
      }
      this.counters.l1Misses++;
      if (this.publisher.hasListeners) this.emitTier('MISS', key, 'l1', this.config.clock.now());
    }
    if (typeof key !== 'string') {
      return Promise.reject(new TypeError(`Cache '${this.name}': a key must be a string, got ${typeof key}`));
    }
    if (typeof loader !== 'function') {
      return Promise.reject(new TypeError(`Cache '${this.name}': the loader must be a function`));
    }
    const flight = this.flights.get(key) ?? this.startFlight(key, loader, stale, false, signal);
    const answer = flight.join(signal);
    return this.copy ? answer.then((value) => structuredClone(value)) : answer;
  }

  /**
   * `fn` with its results cached under `key(...args)`: `users.wrap((id) => db.findUser(id), { key:
   * (id) => `user:${id}` })`.
   */
  wrap<A extends unknown[]>(
    fn: (...args: A) => MaybePromise<T>,
    options: { readonly key: (...args: A) => string },
  ): (...args: A) => Promise<T> {
    if (typeof fn !== 'function') throw new TypeError(`Cache '${this.name}'.wrap: fn must be a function`);
    const key = options?.key;
    if (typeof key !== 'function') {
      throw new TypeError(`Cache '${this.name}'.wrap: options.key must be a function of the arguments`);
    }
    return (...args: A) => {
      let k: string;
      try {
        k = key(...args);
      } catch (error) {
        return Promise.reject(error);
      }
      return this.get(k, () => fn(...args));
    };
  }

  // ------------------------------------------------------------------ writes

  /**
   * Stores `value` under `key` in every tier and tells the other instances to drop their copy.
   * True when the shared tier (if any) took it and the others were told.
   */
  async set(key: string, value: T): Promise<boolean> {
    this.dropLocal(key);
    const written = this.keep(key, value, this.config.clock.now());
    const shared = this.shared;
    if (shared === undefined) return true;
    if (written === undefined || !(await written)) return false;
    return shared.publish(key, this.message('set', [key]));
  }

  /**
   * Removes `key` from every tier, and from the L1 of every instance with this name and key
   * prefix (this process or another). True when the shared tier took the delete and the others
   * were told; false when it could not be reached (the local copy is gone all the same).
   */
  async delete(key: string): Promise<boolean> {
    this.dropLocal(key);
    const shared = this.shared;
    if (shared === undefined) return true;
    const deleted = await shared.delete(key);
    const told = await shared.publish(key, this.message('del', [key]));
    return deleted && told;
  }

  /** Removes every entry of this cache (every version) from every tier and every instance. */
  async clear(): Promise<boolean> {
    this.dropAll();
    const shared = this.shared;
    if (shared === undefined) return true;
    const cleared = await shared.clear();
    const told = await shared.publish('*', this.message('clear', undefined));
    return cleared && told;
  }

  // ------------------------------------------------------------------ events, metrics, lifecycle

  /** Every event of this cache; returns the function that stops listening. */
  onEvent(listener: (event: CacheEvent) => void): Unsubscribe {
    return this.publisher.onEvent(listener);
  }

  /** Events of one type. */
  on<E extends CacheEventType>(
    type: E,
    listener: (event: Extract<CacheEvent, { type: E }>) => void,
  ): Unsubscribe {
    return this.publisher.on(type, listener);
  }

  /** What this cache counted in this process. */
  getMetrics(): Promise<CacheMetrics> {
    return Promise.resolve(this.counters.snapshot(this.l1?.size ?? 0));
  }

  /**
   * Stops listening to the other instances (the last cache of a store closes its pub/sub
   * connection) and empties L1. Loads in flight finish. The store and its client stay open.
   */
  close(): void {
    for (const off of this.offs.splice(0)) off();
    this.l1?.clear();
  }

  // ------------------------------------------------------------------ loads

  private startFlight(
    key: string,
    loader: Loader<T>,
    stale: Entry<T> | undefined,
    refresh: boolean,
    signal?: AbortSignal,
  ): Flight<T> {
    const flight = new Flight<T>(refresh, refresh, signal);
    this.flights.set(key, flight);
    const done = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    // Answered, the flight takes no new callers (they would get its answer, however old by then):
    // the loaded value is in L1 already. Unless it answered with a stale value and loads on, so that
    // gets meanwhile are answered at once too. (Attached before any caller's reaction: it runs first.)
    flight.answer.then(() => {
      if (!flight.background) done();
    }, done);
    this.fly(key, loader, stale, flight).then(done, done);
    return flight;
  }

  /** The work of one flight: the shared tier, then the loader (under the fleet lock if asked). */
  private async fly(key: string, loader: Loader<T>, stale: Entry<T> | undefined, flight: Flight<T>) {
    try {
      const shared = this.shared;
      let sharedAnswered = false;
      if (shared !== undefined && !shared.refusing()) {
        const read = await shared.read(key);
        const now = this.config.clock.now();
        if (read.kind === 'entry') {
          const entry = read.entry;
          if (
            now < entry.freshUntil &&
            !(flight.refresh && refreshDue(entry, now, this.config.earlyRefresh))
          ) {
            this.answerFromShared(key, entry, flight, now);
            return;
          }
          if (now < entry.staleUntil && (stale === undefined || entry.freshUntil > stale.freshUntil)) {
            stale = entry;
          }
        }
        if (read.kind !== 'unavailable') {
          sharedAnswered = true;
          this.counters.l2Misses++;
          if (this.publisher.hasListeners) this.emitTier('MISS', key, 'l2', now);
        }
      }
      if (this.config.fleetLock !== undefined && sharedAnswered)
        await this.loadOnce(key, loader, stale, flight);
      else await this.load(key, loader, stale, flight);
    } catch (error) {
      // Not the loader's (load() answers for it): a bug here or in a serializer. Never leave callers hanging.
      flight.reject(error);
    }
  }

  private answerFromShared(key: string, entry: Entry<T>, flight: Flight<T>, now: number): void {
    this.counters.l2Hits++;
    if (this.publisher.hasListeners) this.emitTier('HIT', key, 'l2', now);
    if (!flight.invalidated) this.keepInL1(key, entry);
    flight.resolve(entry.value);
  }

  /**
   * Runs the loader and answers the flight: its value (then stored), or a stale entry when it
   * fails or is slower than softTimeoutMs. Resolves with the write-back to the shared tier in
   * progress (the lock holder waits for it, callers never do), if there is one.
   */
  private async load(
    key: string,
    loader: Loader<T>,
    stale: Entry<T> | undefined,
    flight: Flight<T>,
  ): Promise<WriteBack | undefined> {
    const clock = this.config.clock;
    const start = clock.now();
    this.counters.loaderCalls++;
    const soft = this.config.softTimeoutMs;
    // A wait callers await: ref'd, and cleared as soon as the loader settles.
    const softTimer =
      stale !== undefined && soft !== undefined && !flight.background
        ? setTimeout(() => this.serveStale(key, stale, flight, 'loader_slow', clock.now()), soft)
        : undefined;
    let value: T;
    try {
      value = await loader(flight.signal);
    } catch (error) {
      clearTimeout(softTimer);
      const now = clock.now();
      this.counters.loaderErrors++;
      // A refresh has no caller to answer: its failure leaves the entry as it is.
      const fallback = stale !== undefined && now < stale.staleUntil && !flight.answered && !flight.refresh;
      this.publish('LOADER_ERROR', now, key, {
        durationMs: now - start,
        error,
        background: flight.background,
        staleServed: fallback,
      });
      if (fallback) this.serveStale(key, stale, flight, 'loader_error', now);
      else flight.reject(error);
      return undefined;
    }
    clearTimeout(softTimer);
    const now = clock.now();
    this.publish('LOADED', now, key, { durationMs: now - start, background: flight.background });
    const written = flight.invalidated ? undefined : this.keep(key, value, now);
    flight.resolve(value);
    return written === undefined ? undefined : { written };
  }

  private serveStale(
    key: string,
    stale: Entry<T>,
    flight: Flight<T>,
    cause: 'loader_error' | 'loader_slow',
    now: number,
  ): void {
    if (flight.answered) return;
    // The load goes on for the cache alone: a caller who leaves must not abort it.
    flight.background = true;
    this.counters.staleServed++;
    this.publish('STALE_SERVED', now, key, { cause, staleForMs: Math.max(0, now - stale.freshUntil) });
    flight.resolve(stale.value);
  }

  /**
   * One load per key in the fleet: take the key's lock and load, or wait for the holder's value
   * (woken by its notification, or looking every LOCK_POLL_MS). A holder that dies stops renewing
   * its lock, which then expires: a waiter takes it and loads. After `waitMs`, or when Redis stops
   * answering, a waiter runs its own loader.
   */
  private async loadOnce(key: string, loader: Loader<T>, stale: Entry<T> | undefined, flight: Flight<T>) {
    const shared = this.shared!;
    const { ttlMs, waitMs } = this.config.fleetLock!;
    const token = randomUUID();
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lock = await shared.tryLock(key, token, ttlMs);
      if (lock === 'acquired') {
        await this.loadHoldingLock(key, loader, stale, flight, token, ttlMs);
        return;
      }
      const remaining = deadline - Date.now();
      if (lock === 'unavailable' || remaining <= 0) break;
      await this.nap(key, Math.min(LOCK_POLL_MS, remaining), flight.signal);
      if (flight.signal.aborted) {
        flight.reject(flight.signal.reason);
        return;
      }
      const read = await shared.read(key);
      if (read.kind === 'unavailable') break;
      const now = this.config.clock.now();
      if (read.kind === 'entry' && now < read.entry.freshUntil) {
        this.answerFromShared(key, read.entry, flight, now);
        return;
      }
    }
    await this.load(key, loader, stale, flight);
  }

  private async loadHoldingLock(
    key: string,
    loader: Loader<T>,
    stale: Entry<T> | undefined,
    flight: Flight<T>,
    token: string,
    ttlMs: number,
  ): Promise<void> {
    const shared = this.shared!;
    // Background work: it never keeps the process alive (the loader's own I/O does).
    const renewal = setInterval(() => void shared.renewLock(key, token, ttlMs), Math.max(20, ttlMs / 3));
    renewal.unref();
    let writeBack: WriteBack | undefined;
    try {
      writeBack = await this.load(key, loader, stale, flight);
    } finally {
      clearInterval(renewal);
    }
    // The waiters look for the value: it is written before they are told and let in.
    if (writeBack !== undefined && (await writeBack.written)) {
      await shared.publish(key, this.message('set', [key]));
    }
    await shared.unlock(key, token);
  }

  /** Waits `ms`, or less when the key's holder notifies or `signal` aborts. */
  private nap(key: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let waiters = this.lockWaiters.get(key);
      if (waiters === undefined) {
        waiters = new Set();
        this.lockWaiters.set(key, waiters);
      }
      const set = waiters;
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.lockWaiters.get(key) === set) this.lockWaiters.delete(key);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      // A wait callers await: ref'd, cleared when it ends.
      const timer = setTimeout(wake, ms);
      set.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  // ------------------------------------------------------------------ storing

  /**
   * Stores a loaded value: in L1 at once, in the shared tier in the background. Returns the
   * write-back (never rejects), or undefined when there is none to wait for.
   */
  private keep(key: string, value: T, now: number): Promise<boolean> | undefined {
    const entry = this.newEntry(value, now);
    const shared = this.shared;
    // Without the tier (or while its breaker refuses) nothing is serialized: the size bound, which
    // is about what is written to Redis, does not apply.
    if (shared === undefined || shared.refusing()) {
      this.keepInL1(key, entry);
      return undefined;
    }
    const text = this.encode(key, entry);
    if (text === 'too-large') return undefined;
    this.keepInL1(key, entry);
    if (text === 'unserializable') return undefined;
    return shared.write(key, text, entry.staleUntil - now);
  }

  private keepInL1(key: string, entry: Entry<T>): void {
    const l1 = this.l1;
    if (l1 === undefined) return;
    l1.set(key, this.copy ? { ...entry, value: structuredClone(entry.value) } : entry);
  }

  private newEntry(value: T, now: number): Entry<T> {
    const { ttlMs, ttlJitterMs, graceMs } = this.config;
    const ttl = ttlJitterMs > 0 ? ttlMs + Math.random() * ttlJitterMs : ttlMs;
    const createdAt = Math.floor(now);
    const freshUntil = Math.ceil(now + ttl);
    return { value, createdAt, freshUntil, staleUntil: Math.ceil(freshUntil + graceMs) };
  }

  /** The entry as the shared tier stores it, or why it is not stored there. */
  private encode(key: string, entry: Entry<T>): Encoded {
    let payload: string | undefined;
    if (entry.value !== undefined) {
      try {
        payload = this.config.serializer.serialize(entry.value);
        if (typeof payload !== 'string') {
          throw new TypeError(`the serializer returned ${typeof payload}, not a string`);
        }
      } catch (error) {
        this.counters.writeBackFailures++;
        this.publish('WRITE_BACK_FAILED', entry.createdAt, key, { errorType: 'serialize', error });
        return 'unserializable';
      }
    }
    const text = encodeEntry(entry, payload);
    const max = this.config.maxValueBytes;
    // A UTF-16 code unit is at most 3 bytes of UTF-8: most texts need no counting.
    if (text.length * 3 > max) {
      const bytes = Buffer.byteLength(text);
      if (bytes > max) {
        this.publish('VALUE_TOO_LARGE', entry.createdAt, key, { bytes, maxValueBytes: max });
        return 'too-large';
      }
    }
    return text;
  }

  // ------------------------------------------------------------------ invalidation

  /** Drops the key from L1, and keeps a load in flight from storing what it loaded before. */
  private dropLocal(key: string): void {
    this.l1?.delete(key);
    const flight = this.flights.get(key);
    if (flight !== undefined) flight.invalidated = true;
  }

  private dropAll(): void {
    this.l1?.clear();
    for (const flight of this.flights.values()) flight.invalidated = true;
  }

  /** Everything L1 holds is reloaded on its next get, and kept as a stale fallback meanwhile. */
  private distrustL1(): void {
    const l1 = this.l1;
    if (l1 === undefined) return;
    const now = this.config.clock.now();
    for (const entry of l1.values()) if (entry.freshUntil > now) entry.freshUntil = now;
  }

  private message(op: BusMessage['op'], keys: readonly string[] | undefined): string {
    const m: BusMessage = { o: this.instanceId, v: this.config.version, op, ...(keys ? { k: keys } : {}) };
    return JSON.stringify(m);
  }

  /** A message from another instance of this cache (anyone can publish: anything else is ignored). */
  private onBusMessage(text: string): void {
    let m: Partial<BusMessage>;
    try {
      m = JSON.parse(text) as Partial<BusMessage>;
    } catch {
      return;
    }
    if (typeof m !== 'object' || m === null || m.o === this.instanceId) return;
    if (m.op === 'clear') {
      this.dropAll();
      return;
    }
    if (m.v !== this.config.version || !Array.isArray(m.k)) return;
    const now = this.config.clock.now();
    for (const key of m.k) {
      if (typeof key !== 'string') continue;
      if (m.op === 'del') this.dropLocal(key);
      else if (m.op === 'set') {
        // A newer value is in Redis: reload it on the next get, keeping ours as a fallback.
        const entry = this.l1?.peek(key);
        if (entry !== undefined && entry.freshUntil > now) entry.freshUntil = now;
        const waiters = this.lockWaiters.get(key);
        if (waiters !== undefined) for (const wake of [...waiters]) wake();
      }
    }
  }

  private emitTier(type: 'HIT' | 'MISS', key: string, tier: CacheTier, now: number): void {
    this.publish(type, now, key, { tier });
  }

  /** Publishes this cache's `type` event about `key` when someone listens to that type. */
  private publish<K extends CacheEventType>(
    type: K,
    at: number,
    key: string,
    details: CacheEventDetails<K>,
  ): void {
    publishCacheEvent(this.publisher, this.name, type, at, key, details);
  }
}
