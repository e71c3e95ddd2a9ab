import {
  type BulkheadSettings,
  type BulkheadStore,
  type CircuitBreakerSettings,
  ConfigError,
  type RateLimiterSettings,
  type RateLimiterStore,
  type Store,
} from '@breakwater/core';
import {
  alignBreakerState,
  type BreakerEffectsListener,
  type BreakerEngine,
  type BreakerState,
  type BulkheadEngine,
  type BulkheadListeners,
  breakerStateProblem,
  cloneBreakerState,
  cloneRateLimiterState,
  createLocalRateLimiterEngine,
  LocalBreakerEngine,
  LocalBulkheadEngine,
  type RateLimiterEngine,
  type RateLimiterState,
  rateLimiterStateProblem,
  type SlotFreedListener,
  WeakListenerSet,
} from '@breakwater/core/engine';
import { EvictionOrder } from './eviction-order.js';
import {
  type MemoryStoreOptions,
  type MemoryStoreSettings,
  resolveMemoryStoreOptions,
} from './memory-store-options.js';
import type { MemoryStoreSnapshot, RestoreReport } from './memory-store-snapshot.js';
import {
  type AnyCell,
  type BreakerName,
  droppableFrom,
  isBusy,
  StoredBreaker,
  StoredBulkhead,
  StoredRateLimiter,
} from './stored-cells.js';
import { WeakNameTable } from './weak-name-table.js';

/** Settings that decide the shape of a breaker's state: breakers sharing a name must agree on them. */
function breakerShape(s: CircuitBreakerSettings): string {
  return `${s.slidingWindowType}/${s.slidingWindowSize}/${s.minimumNumberOfCalls}/${s.permittedNumberOfCallsInHalfOpenState}`;
}

/**
 * In-process state: policies of the same name and kind on one MemoryStore share one state.
 * Memory is bounded by idle expiry and an optional maximum size, and breaker and rate-limiter
 * state can be snapshotted and restored (bulkhead slots belong to running calls and are not).
 *
 * What the store holds of a name goes when the name's cell is dropped (idle expiry, eviction,
 * `clear()`): it holds its policies' listeners weakly, so a policy its user dropped without
 * `close()` can be collected, while one still referenced keeps hearing the name's next cell.
 */
export class MemoryStore implements Store, RateLimiterStore, BulkheadStore {
  readonly kind = 'memory';
  readonly options: MemoryStoreSettings;
  private readonly breakers = new Map<string, StoredBreaker>();
  private readonly rateLimiters = new Map<string, StoredRateLimiter>();
  private readonly bulkheads = new Map<string, StoredBulkhead>();
  /** Per name, held by the name's policies and cell: they outlive a cell, so a recreated cell keeps its audience. */
  private readonly breakerNames = new WeakNameTable<BreakerName>();
  private readonly bulkheadNames = new WeakNameTable<BulkheadListeners>();
  private readonly order = new EvictionOrder<AnyCell>({ droppableFrom, busy: isBusy });
  /** Restored states waiting for their policy's first use (we need its config to check them). */
  private readonly pendingBreakers = new Map<string, BreakerState>();
  private readonly pendingRateLimiters = new Map<string, RateLimiterState>();
  private lastAutoSweep = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryStoreOptions = {}) {
    this.options = resolveMemoryStoreOptions(options);
  }

  /** The number of policies held, all kinds together. */
  get size(): number {
    return this.breakers.size + this.rateLimiters.size + this.bulkheads.size;
  }

  // ---------------------------------------------------------------- circuit breakers

  circuitBreaker(
    name: string,
    settings: CircuitBreakerSettings,
    listener: BreakerEffectsListener,
  ): BreakerEngine {
    const shape = breakerShape(settings);
    const shared = this.breakerNames.get(name) ?? this.newBreakerName(name, shape);
    if (shared.shape !== shape) {
      throw new ConfigError(`CircuitBreaker '${name}' on a shared MemoryStore`, {
        field:
          'slidingWindowType/slidingWindowSize/minimumNumberOfCalls/permittedNumberOfCallsInHalfOpenState',
        value: shape,
        allowed: `the same as the other breakers of that name on this store (${shared.shape})`,
      });
    }
    // The engine holds what its name shares (through this closure) for as long as it lives.
    return new LocalBreakerEngine(settings, listener, (now) =>
      this.attachBreaker(name, shared, settings, now),
    );
  }

  private newBreakerName(name: string, shape: string): BreakerName {
    const shared: BreakerName = { shape, listeners: new WeakListenerSet() };
    this.breakerNames.set(name, shared);
    return shared;
  }

  private attachBreaker(
    name: string,
    shared: BreakerName,
    settings: CircuitBreakerSettings,
    now: number,
  ): StoredBreaker {
    return this.attach(this.breakers, name, now, () => {
      const state = takePending(this.pendingBreakers, name, (s) => breakerStateProblem(s, settings));
      if (state !== undefined) alignBreakerState(state, settings);
      return new StoredBreaker(name, now, settings, shared, state);
    });
  }

  // ---------------------------------------------------------------- rate limiters

  rateLimiter(name: string, settings: RateLimiterSettings): RateLimiterEngine {
    return createLocalRateLimiterEngine(settings, (now) => this.attachRateLimiter(name, settings, now));
  }

  private attachRateLimiter(name: string, settings: RateLimiterSettings, now: number): StoredRateLimiter {
    return this.attach(this.rateLimiters, name, now, () => {
      const state = takePending(this.pendingRateLimiters, name, (s) => rateLimiterStateProblem(s, settings));
      return new StoredRateLimiter(name, now, settings, state);
    });
  }

  // ---------------------------------------------------------------- bulkheads

  bulkhead(name: string, settings: BulkheadSettings, onSlotFreed: SlotFreedListener): BulkheadEngine {
    const listeners = this.bulkheadNames.get(name) ?? this.newBulkheadName(name);
    // The engine holds what its name shares (through this closure) for as long as it lives.
    return new LocalBulkheadEngine(settings, onSlotFreed, (now) => this.attachBulkhead(name, listeners, now));
  }

  private newBulkheadName(name: string): BulkheadListeners {
    const listeners: BulkheadListeners = new WeakListenerSet();
    this.bulkheadNames.set(name, listeners);
    return listeners;
  }

  private attachBulkhead(name: string, listeners: BulkheadListeners, now: number): StoredBulkhead {
    return this.attach(this.bulkheads, name, now, () => new StoredBulkhead(name, now, listeners));
  }

  /** The live cell of `name` in `map`, or else a new one from `create` (after an idle sweep), held. */
  private attach<C extends AnyCell>(
    map: ReadonlyMap<string, C>,
    name: string,
    now: number,
    create: () => C,
  ): C {
    const existing = map.get(name);
    if (existing !== undefined && !existing.evicted) return existing;
    this.autoSweep(now);
    return this.hold(create(), now);
  }

  // ---------------------------------------------------------------- memory bounds

  /** Drops every policy idle for longer than `idleTimeoutMs` as of `now` (epoch ms); returns how many. */
  sweep(now: number = Date.now()): number {
    const ttl = this.options.idleTimeoutMs;
    if (ttl <= 0) return 0;
    let dropped = 0;
    for (const map of this.maps()) {
      for (const cell of map.values()) {
        if (now - cell.lastUsed > ttl && now >= droppableFrom(cell)) {
          this.drop(cell);
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** Sweeps when new policies are created, at most ten times per idle timeout. */
  private autoSweep(now: number): void {
    const ttl = this.options.idleTimeoutMs;
    if (ttl <= 0 || now - this.lastAutoSweep < ttl / 10) return;
    this.lastAutoSweep = now;
    this.sweep(now);
  }

  /** Keeps a new cell, as the most recently used, and evicts as much as the size bound asks. */
  private hold<C extends AnyCell>(cell: C, now: number): C {
    this.add(cell);
    this.enforceMaxSize(cell, now);
    return cell;
  }

  private add(cell: AnyCell): void {
    this.maps()[KIND_INDEX[cell.kind]].set(cell.name, cell);
    this.order.add(cell);
  }

  private enforceMaxSize(keep: AnyCell, now: number): void {
    while (this.size > this.options.maxSize) {
      const victim = this.order.victim(now, keep);
      if (victim === undefined) return; // everything else is running calls: over the bound beats a broken cap
      this.drop(victim);
    }
  }

  // ---------------------------------------------------------------- snapshot / restore

  /** A deep copy of every breaker's and rate limiter's state, as plain JSON-serializable data. */
  snapshot(now: number = Date.now()): MemoryStoreSnapshot {
    const circuitBreakers: Record<string, BreakerState> = {};
    for (const [name, state] of this.pendingBreakers) circuitBreakers[name] = cloneBreakerState(state);
    for (const [name, cell] of this.breakers) circuitBreakers[name] = cloneBreakerState(cell.state);
    const rateLimiters: Record<string, RateLimiterState> = {};
    for (const [name, state] of this.pendingRateLimiters) rateLimiters[name] = cloneRateLimiterState(state);
    for (const [name, cell] of this.rateLimiters) rateLimiters[name] = cloneRateLimiterState(cell.state);
    return { format: 'breakwater-memory-store', version: 1, takenAt: now, circuitBreakers, rateLimiters };
  }

  /**
   * Applies a snapshot. Policies already in use take their restored state at once; the others
   * when first used (a state that then turns out not to fit the policy's config is dropped).
   * A state that does not fit is skipped, with the reason, and its policy starts afresh.
   */
  restore(snapshot: MemoryStoreSnapshot): RestoreReport {
    if (
      typeof snapshot !== 'object' ||
      snapshot === null ||
      snapshot.format !== 'breakwater-memory-store' ||
      snapshot.version !== 1 ||
      typeof snapshot.circuitBreakers !== 'object' ||
      snapshot.circuitBreakers === null
    ) {
      throw new ConfigError('MemoryStore.restore', {
        field: 'snapshot',
        value: snapshot,
        allowed: 'a snapshot made by MemoryStore.snapshot() (format breakwater-memory-store, version 1)',
      });
    }
    const restored: string[] = [];
    const skipped: { name: string; reason: string }[] = [];
    for (const [name, raw] of Object.entries(snapshot.circuitBreakers)) {
      const cell = this.breakers.get(name);
      const reason = breakerStateProblem(raw, cell?.settings);
      if (reason !== undefined) {
        skipped.push({ name, reason });
        continue;
      }
      const state = cloneBreakerState(raw);
      if (cell === undefined) {
        this.pendingBreakers.set(name, state);
      } else {
        alignBreakerState(state, cell.settings);
        // Engines on the old cell move to the new one on their next operation; listeners carry over.
        // The new cell keeps the old one's idle time, and counts as just used for eviction.
        this.drop(cell);
        this.add(new StoredBreaker(name, cell.lastUsed, cell.settings, cell.shared, state));
      }
      restored.push(name);
    }
    for (const [name, raw] of Object.entries(snapshot.rateLimiters ?? {})) {
      const cell = this.rateLimiters.get(name);
      const reason = rateLimiterStateProblem(raw, cell?.settings);
      if (reason !== undefined) {
        skipped.push({ name: `rateLimiter:${name}`, reason });
        continue;
      }
      const state = cloneRateLimiterState(raw);
      if (cell === undefined) {
        this.pendingRateLimiters.set(name, state);
      } else {
        this.drop(cell);
        this.add(new StoredRateLimiter(name, cell.lastUsed, cell.settings, state));
      }
      restored.push(`rateLimiter:${name}`);
    }
    return { restored, skipped };
  }

  /** Forgets every policy's state (breakers and bulkheads in use start afresh on their next call). */
  clear(): void {
    this.order.clear();
    for (const map of this.maps()) {
      for (const cell of map.values()) cell.evicted = true;
      map.clear();
    }
    this.pendingBreakers.clear();
    this.pendingRateLimiters.clear();
  }

  /** Nothing to release in-process; present so stores can be swapped freely. */
  close(): void {}

  private maps(): Map<string, AnyCell>[] {
    return [this.breakers, this.rateLimiters, this.bulkheads];
  }

  /** Forgets `cell`; engines still holding it attach to a new cell on their next operation. */
  private drop(cell: AnyCell): void {
    cell.evicted = true;
    this.order.remove(cell);
    const map: Map<string, AnyCell> = this.maps()[KIND_INDEX[cell.kind]];
    if (map.get(cell.name) === cell) map.delete(cell.name);
  }
}

const KIND_INDEX = { breaker: 0, rateLimiter: 1, bulkhead: 2 } as const;

/**
 * Takes the state restored for `name` out of `pending`: it, or undefined when there was none or
 * `problem` finds it does not fit the policy's config (its policy then starts afresh).
 */
function takePending<S>(
  pending: Map<string, S>,
  name: string,
  problem: (state: S) => string | undefined,
): S | undefined {
  const state = pending.get(name);
  if (state === undefined) return undefined;
  pending.delete(name);
  return problem(state) === undefined ? state : undefined;
}
