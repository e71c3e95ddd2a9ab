import { markUsed, type UsedCell } from '../common/cell-use.js';
import type { RateLimiterSettings } from './rate-limiter-config.js';
import {
  type FixedWindowState,
  type GcraState,
  initialRateLimiterState,
  type RateLimiterState,
} from './rate-limiter-state.js';
import type { RateLimiterEngine } from './rate-limiter-store.js';

/** One rate limiter's in-process state. */
export interface RateLimiterCell extends UsedCell {
  state: RateLimiterState;
  /**
   * From this epoch ms on, the state behaves exactly like a fresh one (no debt, nothing used in
   * the current period): a store may drop the cell then without letting anyone through early.
   */
  freshAt: number;
}

export function createRateLimiterCell(
  settings: RateLimiterSettings,
  now: number,
  state?: RateLimiterState,
): RateLimiterCell {
  return {
    state: state ?? initialRateLimiterState(settings, now),
    lastUsed: now,
    freshAt: now,
    evicted: false,
    order: undefined,
  };
}

/** Absorbs float drift in GCRA's fractional emission interval (1 ns). */
const EPSILON_MS = 1e-6;

/** The in-process engine for `settings.algorithm`, working on the cell `attach` finds or creates. */
export function createLocalRateLimiterEngine(
  settings: RateLimiterSettings,
  attach: (now: number) => RateLimiterCell,
): LocalFixedWindowEngine | LocalGcraEngine {
  return settings.algorithm === 'gcra'
    ? new LocalGcraEngine(settings, attach)
    : new LocalFixedWindowEngine(settings, attach);
}

abstract class LocalRateLimiterEngine {
  protected readonly limit: number;
  protected readonly period: number;
  private cell: RateLimiterCell | undefined;

  constructor(
    settings: RateLimiterSettings,
    /** Finds (or creates) the cell this engine works on. */
    private readonly attach: (now: number) => RateLimiterCell,
  ) {
    this.limit = settings.limitForPeriod;
    this.period = settings.limitRefreshPeriod;
  }

  close(): void {
    this.cell = undefined;
  }

  protected cellAt(now: number): RateLimiterCell {
    let cell = this.cell;
    if (cell === undefined || cell.evicted) {
      cell = this.attach(now);
      this.cell = cell;
    }
    markUsed(cell, now);
    return cell;
  }
}

/** Resilience4j's fixed window: see `FixedWindowState`. Synchronous, allocation-free. */
export class LocalFixedWindowEngine extends LocalRateLimiterEngine implements RateLimiterEngine {
  acquire(permits: number, now: number, timeoutMs: number): number {
    const cell = this.cellAt(now);
    const s = this.refresh(cell, now);
    if (s.permissions >= permits) {
      s.permissions -= permits;
      this.touch(cell, s);
      return 0;
    }
    // Reservations fill later periods in order, each one inside a single period (splitting one
    // across periods, as Resilience4j does, lets a period exceed its limit). A request that does
    // not fit in what is left of the last reserved period starts the next; the rest lapses.
    const limit = this.limit;
    const debt = s.permissions < 0 ? -s.permissions : 0;
    const last = Math.ceil(debt / limit);
    const fits = last > 0 && last * limit - debt >= permits;
    const cycles = fits ? last : last + 1;
    const wait = Math.ceil((s.cycle + cycles) * this.period - now);
    if (wait > timeoutMs) return -wait;
    s.permissions = -((fits ? debt : last * limit) + permits);
    this.touch(cell, s);
    return wait;
  }

  release(permits: number, remainingMs: number, now: number): void {
    if (!(remainingMs > 0)) return;
    const cell = this.cellAt(now);
    const s = this.refresh(cell, now);
    // Only a reservation in the last reserved period can be handed back: the debt counts
    // periods in order, so returning an earlier one would let a newcomer onto a later one's place.
    // A reservation is due at the start of its period; half a period of slack absorbs the skew
    // between the caller's clock (remainingMs) and the store's (now).
    const last = s.permissions >= 0 ? 0 : Math.ceil(-s.permissions / this.limit);
    if (Math.floor((now + remainingMs + this.period / 2) / this.period) !== s.cycle + last) return;
    s.permissions = Math.min(this.limit, s.permissions + permits);
    this.touch(cell, s);
  }

  /**
   * Gives back `permits` that a caller who already gave up was granted (a store's late answer):
   * `dueAt` is when they went or go, the acquire's `now` plus its wait, on the same clock. A
   * reservation still ahead is released as `release` does. Permits that already went count only
   * in the cycle they were taken from, and only while no debt lies on later cycles (the current
   * one is spent then, and what it lends must stay lent): never more than the limit comes back.
   */
  giveBack(permits: number, dueAt: number, now: number): void {
    if (dueAt > now) {
      this.release(permits, dueAt - now, now);
      return;
    }
    const cell = this.cellAt(now);
    const s = this.refresh(cell, now);
    if (Math.floor(dueAt / this.period) !== s.cycle || s.permissions < 0) return;
    s.permissions = Math.min(this.limit, s.permissions + permits);
    this.touch(cell, s);
  }

  drain(now: number): number {
    const cell = this.cellAt(now);
    const s = this.refresh(cell, now);
    const drained = Math.max(s.permissions, 0);
    if (drained > 0) {
      s.permissions = 0;
      this.touch(cell, s);
    }
    return drained;
  }

  read(now: number): number {
    return this.refresh(this.cellAt(now), now).permissions;
  }

  private refresh(cell: RateLimiterCell, now: number): FixedWindowState {
    let s = cell.state;
    if (s.algorithm !== 'fixed-window') {
      // Another limiter of this name used the other algorithm: its state means nothing here.
      s = { algorithm: 'fixed-window', cycle: Math.floor(now / this.period), permissions: this.limit };
      cell.state = s;
    }
    const cycle = Math.floor(now / this.period);
    if (cycle > s.cycle) {
      s.permissions = Math.min(this.limit, s.permissions + (cycle - s.cycle) * this.limit);
      s.cycle = cycle;
    }
    return s;
  }

  private touch(cell: RateLimiterCell, s: FixedWindowState): void {
    const missing = this.limit - s.permissions;
    cell.freshAt = missing <= 0 ? 0 : (s.cycle + Math.ceil(missing / this.limit)) * this.period;
  }
}

/** The smooth limiter: see `GcraState`. Synchronous, allocation-free. */
export class LocalGcraEngine extends LocalRateLimiterEngine implements RateLimiterEngine {
  /** The emission interval T: one permit's share of the period. */
  private readonly interval: number;

  constructor(settings: RateLimiterSettings, attach: (now: number) => RateLimiterCell) {
    super(settings, attach);
    this.interval = settings.limitRefreshPeriod / settings.limitForPeriod;
  }

  acquire(permits: number, now: number, timeoutMs: number): number {
    const cell = this.cellAt(now);
    const s = this.stateOf(cell, now);
    const earliest = s.tat + (permits - 1) * this.interval;
    if (earliest <= now + EPSILON_MS) {
      s.tat = now + permits * this.interval;
      cell.freshAt = s.tat + this.period - this.interval;
      return 0;
    }
    const wait = Math.ceil(earliest - now - EPSILON_MS);
    if (wait > timeoutMs) return -wait;
    s.tat = earliest + permits * this.interval;
    cell.freshAt = s.tat + this.period - this.interval;
    return wait;
  }

  release(permits: number, remainingMs: number, now: number): void {
    if (!(remainingMs > 0)) return;
    this.undoLatest(permits, now + remainingMs, now);
  }

  /**
   * Gives back `permits` that a caller who already gave up was granted (a store's late answer):
   * `dueAt` is when they went or go, the acquire's `now` plus its wait, on the same clock. Only
   * the latest grant can be undone, as in `release`, whether it lies ahead or already went: `tat`
   * moves back as far as that grant moved it at most (for an immediate grant the state before it
   * had at least that much room), so no more burst comes back than the grant took.
   */
  giveBack(permits: number, dueAt: number, now: number): void {
    const cell = this.undoLatest(permits, dueAt, now);
    // As good as fresh already (all of a full burst back): the fresh state itself, which reads the
    // limit whatever the rounding (a store drops such a state, the Lua port deletes its key).
    if (cell !== undefined && cell.freshAt <= now) {
      const s = cell.state as GcraState; // undoLatest worked on a GCRA state
      s.tat = now - this.period;
      cell.freshAt = s.tat + this.period - this.interval;
    }
  }

  drain(now: number): number {
    const cell = this.cellAt(now);
    const s = this.stateOf(cell, now);
    const available = this.available(s, now);
    if (available <= 0) return 0;
    // The next single permit then comes one interval from now.
    s.tat = now + this.interval;
    cell.freshAt = s.tat + this.period - this.interval;
    return available;
  }

  read(now: number): number {
    return this.available(this.stateOf(this.cellAt(now), now), now);
  }

  /**
   * Undoes the grant of `permits` due to go at `dueAt` (epoch ms) if it is the latest one: later
   * ones were placed behind it, so only the latest can be undone. `release` and `giveBack` share
   * it. Returns the cell when it undid the grant, else undefined.
   */
  private undoLatest(permits: number, dueAt: number, now: number): RateLimiterCell | undefined {
    const cell = this.cellAt(now);
    const s = this.stateOf(cell, now);
    // Its exact start lies within the millisecond before the (rounded up) time it was due to go.
    const start = s.tat - permits * this.interval;
    if (start <= dueAt - 1 - EPSILON_MS || start > dueAt + EPSILON_MS) return undefined;
    s.tat = start - (permits - 1) * this.interval;
    cell.freshAt = s.tat + this.period - this.interval;
    return cell;
  }

  /** The largest n a request could take now: n with tat + (n-1)·T <= now, at most the limit. */
  private available(s: GcraState, now: number): number {
    return Math.min(this.limit, Math.floor((now - s.tat) / this.interval + EPSILON_MS) + 1);
  }

  private stateOf(cell: RateLimiterCell, now: number): GcraState {
    const s = cell.state;
    if (s.algorithm === 'gcra') return s;
    const fresh: GcraState = { algorithm: 'gcra', tat: now - this.period };
    cell.state = fresh;
    return fresh;
  }
}
