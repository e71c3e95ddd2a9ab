/**
 * A Store that wraps a RedisStore and logs, at the engine level, every permit the policies get and
 * give back: the store SPI (`@breakwater/core`) is where a permit is granted and returned, so the
 * spans logged here are those of the permits themselves. A bulkhead slot handed from a finished
 * call to a waiter of the same process stays one span (one lease in Redis), and a breaker permit
 * spans from the grant reaching the caller to its record or release.
 */
import type {
  BulkheadSettings,
  BulkheadStore,
  CircuitBreakerSettings,
  MaybePromise,
  RateLimiterSettings,
  RateLimiterStore,
  Store,
} from '@breakwater/core';
import {
  type BreakerEffectsListener,
  type BreakerEngine,
  type BreakerView,
  type BulkheadEngine,
  type ManualTarget,
  OUTCOME_FAILURE,
  type Outcome,
  type RateLimiterEngine,
  type SlotFreedListener,
} from '@breakwater/core/engine';
import type { RedisStore } from '@breakwater/store-redis';
import type { BreakerPermit, PermitSource, RateGrant, SlotLease } from './history.js';
import {
  breakerPermitSource,
  bulkheadLeaseSource,
  OperationTally,
  RATE_LIMITER_SCRIPT,
} from './permit-source.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What one worker logged. */
export class WorkerLog {
  readonly permits: Mutable<BreakerPermit>[] = [];
  readonly rateGrants: RateGrant[] = [];
  readonly leases: Mutable<SlotLease>[] = [];
  /** Refused acquires, by policy name. */
  readonly refusals = new Map<string, number>();

  constructor(
    readonly worker: number,
    /** Redis time now. */
    readonly now: () => number,
  ) {}

  refused(name: string): void {
    this.refusals.set(name, (this.refusals.get(name) ?? 0) + 1);
  }
}

function settle<T, R>(value: MaybePromise<T>, then: (v: NoInfer<T>) => R): MaybePromise<R> {
  return typeof (value as PromiseLike<T>)?.then === 'function'
    ? (value as PromiseLike<T>).then(then)
    : then(value as T);
}

/**
 * The spans of the permits one engine granted: opened when a grant reaches the caller, closed when
 * the permit comes back. Matched by token, oldest first (a CLOSED breaker's tokens repeat; any
 * matching of equal tokens gives the same spans over time).
 */
class PermitSpans<S extends Mutable<BreakerPermit> | Mutable<SlotLease>> {
  private readonly open = new Map<number, S[]>();

  constructor(
    private readonly name: string,
    private readonly log: WorkerLog,
    private readonly list: S[],
    private readonly sourceOf: (token: number) => PermitSource,
  ) {}

  /** An engine's answer to an acquire issued at `calledAt`: a token (>= 0) or a refusal. */
  answered(token: number, calledAt: number): number {
    if (token < 0) {
      this.log.refused(this.name);
      return token;
    }
    // the fields a span has from its grant (how it ends is filled in when it does)
    const span = {
      name: this.name,
      worker: this.log.worker,
      source: this.sourceOf(token),
      calledAt,
      grantedAt: this.log.now(),
    } as S;
    this.list.push(span);
    const same = this.open.get(token);
    if (same === undefined) this.open.set(token, [span]);
    else same.push(span);
    return token;
  }

  returned(token: number): S | undefined {
    const same = this.open.get(token);
    const span = same?.shift();
    if (same?.length === 0) this.open.delete(token);
    return span;
  }
}

class RecordingBreakerEngine implements BreakerEngine {
  private readonly spans: PermitSpans<Mutable<BreakerPermit>>;

  constructor(
    name: string,
    private readonly inner: BreakerEngine,
    private readonly log: WorkerLog,
  ) {
    this.spans = new PermitSpans(name, log, log.permits, breakerPermitSource);
  }

  acquire(now: number): MaybePromise<number> {
    const calledAt = this.log.now();
    return settle(this.inner.acquire(now), (token) => this.spans.answered(token, calledAt));
  }

  record(permit: number, outcome: Outcome, now: number): MaybePromise<void> {
    this.end(permit, outcome & OUTCOME_FAILURE ? 'failure' : 'success');
    return this.inner.record(permit, outcome, now);
  }

  release(permit: number, now: number): MaybePromise<void> {
    this.end(permit, 'released');
    return this.inner.release(permit, now);
  }

  private end(token: number, ending: BreakerPermit['ending']): void {
    const span = this.spans.returned(token);
    if (span === undefined) return;
    span.endedAt = this.log.now();
    span.ending = ending;
  }

  transition(target: ManualTarget, now: number): MaybePromise<boolean> {
    return this.inner.transition(target, now);
  }

  read(now: number): MaybePromise<BreakerView> {
    return this.inner.read(now);
  }

  close(): void {
    this.inner.close();
  }
}

class RecordingRateLimiterEngine implements RateLimiterEngine {
  constructor(
    private readonly name: string,
    private readonly inner: RateLimiterEngine,
    private readonly log: WorkerLog,
    private readonly tally: OperationTally,
  ) {}

  acquire(permits: number, now: number, timeoutMs: number): MaybePromise<number> {
    const calledAt = this.log.now();
    const mark = this.tally.mark();
    return settle(this.inner.acquire(permits, now, timeoutMs), (waitMs) => {
      if (waitMs < 0) {
        this.log.refused(this.name);
        return waitMs;
      }
      this.log.rateGrants.push({
        name: this.name,
        worker: this.log.worker,
        source: this.tally.sourceSince(mark),
        calledAt,
        resolvedAt: this.log.now(),
        permits,
        waitMs,
      });
      return waitMs;
    });
  }

  release(permits: number, remainingMs: number, now: number): MaybePromise<void> {
    return this.inner.release(permits, remainingMs, now);
  }

  drain(now: number): MaybePromise<number> {
    return this.inner.drain(now);
  }

  read(now: number): MaybePromise<number> {
    return this.inner.read(now);
  }

  close(): void {
    this.inner.close();
  }
}

class RecordingBulkheadEngine implements BulkheadEngine {
  private readonly spans: PermitSpans<Mutable<SlotLease>>;

  constructor(
    name: string,
    private readonly inner: BulkheadEngine,
    private readonly log: WorkerLog,
  ) {
    this.spans = new PermitSpans(name, log, log.leases, bulkheadLeaseSource);
  }

  tryAcquire(now: number): MaybePromise<number> {
    const calledAt = this.log.now();
    return settle(this.inner.tryAcquire(now), (token) => this.spans.answered(token, calledAt));
  }

  release(lease: number, now: number): MaybePromise<void> {
    const span = this.spans.returned(lease);
    if (span !== undefined) span.releasedAt = this.log.now();
    return this.inner.release(lease, now);
  }

  read(now: number): MaybePromise<number> {
    return this.inner.read(now);
  }

  close(): void {
    this.inner.close();
  }
}

export class RecordingStore implements Store, RateLimiterStore, BulkheadStore {
  readonly kind: string;
  private readonly tally: OperationTally;
  private limiter: string | undefined;

  constructor(
    readonly inner: RedisStore,
    private readonly log: WorkerLog,
  ) {
    this.kind = inner.kind;
    this.tally = new OperationTally(inner, RATE_LIMITER_SCRIPT);
  }

  circuitBreaker(
    name: string,
    settings: CircuitBreakerSettings,
    listener: BreakerEffectsListener,
  ): BreakerEngine {
    return new RecordingBreakerEngine(name, this.inner.circuitBreaker(name, settings, listener), this.log);
  }

  rateLimiter(name: string, settings: RateLimiterSettings): RateLimiterEngine {
    // The attribution of rate-limiter answers counts the store's calls of the script: one limiter per store.
    if (this.limiter !== undefined && this.limiter !== name) {
      throw new Error(`RecordingStore: one rate limiter per store (has ${this.limiter}, asked for ${name})`);
    }
    this.limiter = name;
    return new RecordingRateLimiterEngine(name, this.inner.rateLimiter(name, settings), this.log, this.tally);
  }

  bulkhead(name: string, settings: BulkheadSettings, onSlotFreed: SlotFreedListener): BulkheadEngine {
    return new RecordingBulkheadEngine(name, this.inner.bulkhead(name, settings, onSlotFreed), this.log);
  }
}
