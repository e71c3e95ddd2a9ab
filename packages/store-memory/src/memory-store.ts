import {
  type BreakerCell,
  type BreakerEffectsListener,
  type BreakerEngine,
  type BreakerState,
  breakerStateProblem,
  type CircuitBreakerSettings,
  ConfigError,
  cloneBreakerState,
  createBreakerCell,
  LocalBreakerEngine,
  type Store,
} from '@breakwater/core';
import {
  type MemoryStoreOptions,
  type MemoryStoreSettings,
  resolveMemoryStoreOptions,
} from './memory-store-options.js';
import type { MemoryStoreSnapshot, RestoreReport } from './memory-store-snapshot.js';

interface StoredBreaker extends BreakerCell {
  /** The config of the first breaker that attached; restored state is checked against it. */
  readonly settings: CircuitBreakerSettings;
}

/**
 * In-process state: breakers of the same name on one MemoryStore share one state. Memory is
 * bounded by idle expiry and an optional maximum size, and the whole state can be snapshotted
 * and restored.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly options: MemoryStoreSettings;
  private readonly breakers = new Map<string, StoredBreaker>();
  /** Restored states waiting for their breaker's first use (we need its config to check them). */
  private readonly pending = new Map<string, BreakerState>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryStoreOptions = {}) {
    this.options = resolveMemoryStoreOptions(options);
  }

  /** The number of policies held. */
  get size(): number {
    return this.breakers.size;
  }

  circuitBreaker(
    name: string,
    settings: CircuitBreakerSettings,
    listener: BreakerEffectsListener,
  ): BreakerEngine {
    return new LocalBreakerEngine(settings, listener, (now) => this.attachBreaker(name, settings, now));
  }

  private attachBreaker(name: string, settings: CircuitBreakerSettings, now: number): StoredBreaker {
    const existing = this.breakers.get(name);
    if (existing !== undefined && !existing.evicted) {
      // Same name, different window shape: the newcomer could not run on this state.
      const problem = breakerStateProblem(existing.state, settings);
      if (problem === undefined) return existing;
      this.drop(name, existing);
    }
    this.sweep(now);
    let state: BreakerState | undefined;
    const restored = this.pending.get(name);
    if (restored !== undefined) {
      this.pending.delete(name);
      if (breakerStateProblem(restored, settings) === undefined) state = restored;
    }
    const cell: StoredBreaker = { ...createBreakerCell(settings, now, state), settings };
    this.breakers.set(name, cell);
    this.enforceMaxSize(cell);
    return cell;
  }

  /**
   * Drops policies idle for longer than `idleTimeoutMs` as of `now` (epoch ms). Runs by itself
   * when new policies are created (at most ten times per idle timeout); call it to force one.
   */
  sweep(now: number = Date.now()): number {
    const ttl = this.options.idleTimeoutMs;
    if (ttl <= 0 || now - this.lastSweep < ttl / 10) return 0;
    this.lastSweep = now;
    let dropped = 0;
    for (const [name, cell] of this.breakers) {
      if (now - cell.lastUsed > ttl && isExpirable(cell.state, now)) {
        this.drop(name, cell);
        dropped++;
      }
    }
    return dropped;
  }

  /** A deep copy of every breaker's state, as plain JSON-serializable data. */
  snapshot(now: number = Date.now()): MemoryStoreSnapshot {
    const circuitBreakers: Record<string, BreakerState> = {};
    for (const [name, state] of this.pending) circuitBreakers[name] = cloneBreakerState(state);
    for (const [name, cell] of this.breakers) circuitBreakers[name] = cloneBreakerState(cell.state);
    return { format: 'breakwater-memory-store', version: 1, takenAt: now, circuitBreakers };
  }

  /**
   * Applies a snapshot. Breakers already in use take their restored state at once; the others
   * when first used. A state that does not fit its breaker's config is skipped (it starts afresh).
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
    for (const [name, state] of Object.entries(snapshot.circuitBreakers)) {
      const cell = this.breakers.get(name);
      if (cell === undefined) {
        const reason = breakerStateProblem(state);
        if (reason !== undefined) skipped.push({ name, reason });
        else {
          this.pending.set(name, cloneBreakerState(state));
          restored.push(name);
        }
        continue;
      }
      const reason = breakerStateProblem(state, cell.settings);
      if (reason !== undefined) {
        skipped.push({ name, reason });
        continue;
      }
      // Engines attached to the old cell move to the new one on their next operation.
      this.drop(name, cell);
      this.breakers.set(name, {
        ...createBreakerCell(cell.settings, cell.lastUsed, cloneBreakerState(state)),
        settings: cell.settings,
      });
      restored.push(name);
    }
    return { restored, skipped };
  }

  /** Forgets every policy. */
  clear(): void {
    for (const [name, cell] of this.breakers) this.drop(name, cell);
    this.pending.clear();
  }

  /** Nothing to release in-process; present so stores can be swapped freely. */
  close(): void {}

  private drop(name: string, cell: StoredBreaker): void {
    cell.evicted = true;
    if (this.breakers.get(name) === cell) this.breakers.delete(name);
  }

  private enforceMaxSize(keep: StoredBreaker): void {
    while (this.breakers.size > this.options.maxSize) {
      let victimName: string | undefined;
      let victim: StoredBreaker | undefined;
      for (const [name, cell] of this.breakers) {
        if (cell === keep) continue;
        // Least recently used first; breakers an operator pinned go last.
        if (victim === undefined || rank(cell) < rank(victim)) {
          victim = cell;
          victimName = name;
        }
      }
      if (victim === undefined || victimName === undefined) return;
      this.drop(victimName, victim);
    }
  }
}

const PINNED_PENALTY = Number.MAX_SAFE_INTEGER / 2;

function rank(cell: StoredBreaker): number {
  const s = cell.state.state;
  const pinned = s === 'FORCED_OPEN' || s === 'DISABLED' || s === 'METRICS_ONLY';
  return cell.lastUsed + (pinned ? PINNED_PENALTY : 0);
}

function isExpirable(state: BreakerState, now: number): boolean {
  switch (state.state) {
    case 'FORCED_OPEN':
    case 'DISABLED':
    case 'METRICS_ONLY':
      return false;
    case 'OPEN':
      return now >= state.openUntil;
    default:
      return true;
  }
}
