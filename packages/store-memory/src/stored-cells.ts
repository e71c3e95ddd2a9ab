import type { CircuitBreakerSettings, RateLimiterSettings } from '@breakwater/core';
import {
  type BreakerCell,
  type BreakerListeners,
  type BreakerState,
  type BulkheadCell,
  type BulkheadListeners,
  initialBreakerState,
  initialRateLimiterState,
  type RateLimiterCell,
  type RateLimiterState,
  type UseOrder,
} from '@breakwater/core/engine';
import { NOWHERE, type OrderedCell } from './eviction-order.js';

/** What breakers of one name share besides their state; it lives as long as one of them, or the name's cell. */
export interface BreakerName {
  /** Settings that decide the shape of the state: breakers sharing a name must agree on them. */
  readonly shape: string;
  /** Shared by the name's successive cells, so that a breaker whose cell was dropped still hears the next one. */
  readonly listeners: BreakerListeners;
}

export type AnyCell = StoredBreaker | StoredRateLimiter | StoredBulkhead;

/**
 * What a MemoryStore keeps per name and kind: the engine's cell, with its place in the eviction
 * order. Cells are class instances (one shape per kind, built in one step): building them by
 * spreading the core's cell and adding these fields made a new name several times slower.
 */
abstract class StoredCell implements OrderedCell<AnyCell> {
  evicted = false;
  order: UseOrder | undefined = undefined;
  prev: AnyCell | undefined = undefined;
  next: AnyCell | undefined = undefined;
  place = NOWHERE;
  seq = 0;

  constructor(
    readonly name: string,
    public lastUsed: number,
  ) {}
}

export class StoredBreaker extends StoredCell implements BreakerCell {
  readonly kind = 'breaker';
  state: BreakerState;
  readonly listeners: BreakerListeners;

  constructor(
    name: string,
    now: number,
    /** The config of the breaker that created the cell; restored state is checked against it. */
    readonly settings: CircuitBreakerSettings,
    readonly shared: BreakerName,
    state: BreakerState | undefined,
  ) {
    super(name, now);
    this.state = state ?? initialBreakerState(settings, now);
    this.listeners = shared.listeners;
  }
}

export class StoredRateLimiter extends StoredCell implements RateLimiterCell {
  readonly kind = 'rateLimiter';
  state: RateLimiterState;
  freshAt: number;

  constructor(
    name: string,
    now: number,
    readonly settings: RateLimiterSettings,
    state: RateLimiterState | undefined,
  ) {
    super(name, now);
    this.state = state ?? initialRateLimiterState(settings, now);
    this.freshAt = now;
  }
}

export class StoredBulkhead extends StoredCell implements BulkheadCell {
  readonly kind = 'bulkhead';
  inUse = 0;
  contended = false;

  constructor(
    name: string,
    now: number,
    readonly listeners: BulkheadListeners,
  ) {
    super(name, now);
  }
}

/** A cell whose loss would break a promise made to running calls: bulkhead slots in use. */
export function isBusy(cell: AnyCell): boolean {
  return cell.kind === 'bulkhead' && cell.inUse > 0;
}

/**
 * From when (epoch ms) dropping the cell loses nothing anyone relies on, the policy then starting
 * afresh in an equivalent state: -Infinity for now, +Infinity for not until it is used again.
 * Operator-pinned breakers (FORCED_OPEN, DISABLED, METRICS_ONLY) are kept; an OPEN one until its
 * wait is over; a rate limiter until its state is as good as fresh; a bulkhead while calls run.
 */
export function droppableFrom(cell: AnyCell): number {
  switch (cell.kind) {
    case 'bulkhead':
      return cell.inUse === 0 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    case 'rateLimiter':
      return cell.freshAt;
    case 'breaker':
      switch (cell.state.state) {
        case 'FORCED_OPEN':
        case 'DISABLED':
        case 'METRICS_ONLY':
          return Number.POSITIVE_INFINITY;
        case 'OPEN':
          return cell.state.openUntil;
        default:
          return Number.NEGATIVE_INFINITY;
      }
  }
}
