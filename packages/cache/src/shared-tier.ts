import type { CircuitBreaker } from '@breakwater/core';
import type { EventPublisher } from '@breakwater/core/engine';
import { CacheTierError, isTierOutage, toTierError } from './cache-errors.js';
import { publishCacheEvent } from './cache-event-publish.js';
import type { CacheEvent, CacheTierOperation } from './cache-events.js';
import type { CacheCounters } from './cache-metrics.js';
import { decodeEntry, type Entry } from './entry.js';
import type { RedisCacheStore } from './redis-cache-store.js';
import type { Serializer } from './serializer.js';

/** What a read of the shared tier found. */
export type SharedRead<T> =
  | { readonly kind: 'entry'; readonly entry: Entry<T> }
  | { readonly kind: 'miss' }
  /** It did not answer (in time), or its breaker refused: nothing is known. */
  | { readonly kind: 'unavailable' };

export type LockResult = 'acquired' | 'held' | 'unavailable';

const MISS = Object.freeze({ kind: 'miss' } as const);
const UNAVAILABLE_READ = Object.freeze({ kind: 'unavailable' } as const);
const UNAVAILABLE: unique symbol = Symbol('unavailable');

/** An error reply (or a closed store): Redis answered, so the breaker records a success. */
class Answered {
  constructor(readonly error: CacheTierError) {}
}

/**
 * After its breaker refused, the tier does not ask it again for this long: while it is OPEN, a get
 * costs no refusal (an error with its stack) per command. HALF_OPEN is noticed this much later.
 */
const REFUSAL_MEMORY_MS = 50;

/** Deadline of clear(): it walks the keyspace, which one command's deadline does not bound. */
const CLEAR_TIMEOUT_MS = 5_000;

interface Owner<T> {
  readonly name: string;
  readonly version: string;
  readonly counters: CacheCounters;
  readonly publisher: EventPublisher<CacheEvent>;
  readonly serializer: Serializer<T>;
  now(): number;
}

/**
 * The shared tier as a cache sees it: every command bounded by `timeoutMs` and run through the
 * breaker, which records timeouts and connection errors (never a miss, never an error reply).
 * Nothing here rejects: a failure is counted, published (L2_ERROR, or WRITE_BACK_FAILED for a
 * write) and answered as "unavailable", and the cache goes on without the tier.
 */
export class SharedTier<T> {
  private readonly timeoutError: CacheTierError;
  /** Until when (Date.now()) the breaker's last refusal stands. */
  private refusedUntil = 0;

  constructor(
    readonly store: RedisCacheStore,
    private readonly breaker: CircuitBreaker,
    private readonly timeoutMs: number,
    private readonly owner: Owner<T>,
  ) {
    // One error for every timeout: building one per call would cost more than the wait it reports.
    this.timeoutError = new CacheTierError(`Redis did not answer within ${timeoutMs} ms`, 'timeout');
  }

  /**
   * True while the breaker's last refusal stands (counted as one skipped operation): the cache then
   * goes straight on without the tier, at no cost of its own.
   */
  refusing(): boolean {
    if (this.refusedUntil === 0) return false;
    if (Date.now() < this.refusedUntil) {
      this.owner.counters.l2NotPermitted++;
      return true;
    }
    this.refusedUntil = 0;
    return false;
  }

  entryKey(key: string): string {
    return this.store.entryKey(this.owner.name, this.owner.version, key);
  }

  async read(key: string): Promise<SharedRead<T>> {
    const text = await this.guarded('get', key, this.timeoutMs, () => this.store.get(this.entryKey(key)));
    if (text === UNAVAILABLE) return UNAVAILABLE_READ;
    if (text === null) return MISS;
    const entry = this.decode(key, text);
    return entry === undefined ? MISS : { kind: 'entry', entry };
  }

  /** True when the tier took the value. */
  async write(key: string, text: string, ttlMs: number): Promise<boolean> {
    const ok = await this.guarded('set', key, this.timeoutMs, () =>
      this.store.set(this.entryKey(key), text, ttlMs),
    );
    return ok !== UNAVAILABLE;
  }

  async delete(key: string): Promise<boolean> {
    return (
      (await this.guarded('delete', key, this.timeoutMs, () => this.store.delete(this.entryKey(key)))) !==
      UNAVAILABLE
    );
  }

  /** Deletes every entry of the cache, of every version. */
  async clear(): Promise<boolean> {
    const pattern = `${this.store.keyPrefix}:cache:${this.owner.name}:*`;
    return (
      (await this.guarded('clear', '*', CLEAR_TIMEOUT_MS, () => this.store.deleteMatching(pattern))) !==
      UNAVAILABLE
    );
  }

  async publish(key: string, message: string): Promise<boolean> {
    const channel = this.store.channel(this.owner.name);
    return (
      (await this.guarded('publish', key, this.timeoutMs, () => this.store.publish(channel, message))) !==
      UNAVAILABLE
    );
  }

  async tryLock(key: string, token: string, ttlMs: number): Promise<LockResult> {
    const lockKey = this.store.lockKey(this.owner.name, this.owner.version, key);
    const got = await this.guarded('lock', key, this.timeoutMs, () =>
      this.store.tryLock(lockKey, token, ttlMs),
    );
    if (got === UNAVAILABLE) return 'unavailable';
    return got ? 'acquired' : 'held';
  }

  /** Keeps the lock alive; failures are only counted (a lost lock lets another process load too). */
  async renewLock(key: string, token: string, ttlMs: number): Promise<void> {
    const lockKey = this.store.lockKey(this.owner.name, this.owner.version, key);
    await this.guarded('lock', key, this.timeoutMs, () => this.store.renewLock(lockKey, token, ttlMs));
  }

  async unlock(key: string, token: string): Promise<void> {
    const lockKey = this.store.lockKey(this.owner.name, this.owner.version, key);
    await this.guarded('lock', key, this.timeoutMs, () => this.store.unlock(lockKey, token));
  }

  /** The entry in `text`, or undefined (published as ENTRY_UNREADABLE) when it is not one. */
  private decode(key: string, text: string): Entry<T> | undefined {
    const stored = decodeEntry(text);
    let reason: string;
    if (typeof stored === 'string') reason = stored;
    else {
      const { createdAt, freshUntil, staleUntil, payload } = stored;
      if (payload === undefined) return { value: undefined as T, createdAt, freshUntil, staleUntil };
      try {
        return { value: this.owner.serializer.deserialize(payload), createdAt, freshUntil, staleUntil };
      } catch (error) {
        reason = `the serializer could not read it (${error instanceof Error ? error.message : String(error)})`;
      }
    }
    const { publisher, name } = this.owner;
    publishCacheEvent(publisher, name, 'ENTRY_UNREADABLE', this.owner.now(), key, { reason });
    return undefined;
  }

  /** Runs `send` within `timeoutMs`, through the breaker; its value, or UNAVAILABLE (counted and published). */
  private guarded<R>(
    operation: CacheTierOperation,
    key: string,
    timeoutMs: number,
    send: () => Promise<R>,
  ): Promise<R | typeof UNAVAILABLE> {
    if (this.refusing()) return Promise.resolve(UNAVAILABLE);
    return this.breaker
      .execute(() => this.withDeadline(send, timeoutMs))
      .then(
        (result) => (result instanceof Answered ? this.failed(operation, key, result.error) : result),
        (error: unknown) => this.failed(operation, key, error),
      );
  }

  /**
   * `send()`, rejected with a timeout after `timeoutMs` (a timer the caller awaits, so a ref'd
   * one, cleared the moment the reply comes). Outages reject, so that the breaker records them;
   * error replies resolve as Answered, so that it does not.
   */
  private withDeadline<R>(send: () => Promise<R>, timeoutMs: number): Promise<R | Answered> {
    return new Promise<R | Answered>((resolve, reject) => {
      const timer = setTimeout(
        reject,
        timeoutMs,
        timeoutMs === this.timeoutMs
          ? this.timeoutError
          : new CacheTierError(`Redis did not answer within ${timeoutMs} ms`, 'timeout'),
      );
      let pending: Promise<R>;
      try {
        pending = send();
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          const tierError = toTierError(error);
          if (isTierOutage(tierError)) reject(tierError);
          else resolve(new Answered(tierError));
        },
      );
    });
  }

  private failed(operation: CacheTierOperation, key: string, error: unknown): typeof UNAVAILABLE {
    const { counters, publisher, name } = this.owner;
    if ((error as { name?: unknown } | null)?.name === 'CallNotPermittedError') {
      counters.l2NotPermitted++;
      this.refusedUntil = Date.now() + REFUSAL_MEMORY_MS;
      return UNAVAILABLE;
    }
    const tierError = toTierError(error);
    counters.l2Errors[tierError.reason]++;
    if (operation === 'set') {
      counters.writeBackFailures++;
      publishCacheEvent(publisher, name, 'WRITE_BACK_FAILED', this.owner.now(), key, {
        errorType: tierError.reason,
        error: tierError,
      });
    } else {
      publishCacheEvent(publisher, name, 'L2_ERROR', this.owner.now(), key, {
        operation,
        errorType: tierError.reason,
        error: tierError,
      });
    }
    return UNAVAILABLE;
  }
}
