import { markUsed, type UsedCell } from '../common/cell-use.js';
import { WeakListenerSet } from '../common/weak-listener-set.js';
import type { BulkheadSettings } from './bulkhead-config.js';
import {
  BULKHEAD_FULL,
  type BulkheadEngine,
  type BulkheadState,
  type SlotFreedListener,
} from './bulkhead-store.js';

/** The listeners for a bulkhead's free slots: held weakly, see `WeakListenerSet`. */
export type BulkheadListeners = WeakListenerSet<Parameters<SlotFreedListener>>;

/**
 * One bulkhead's in-process slots and everyone listening for a free one. A store must not drop
 * a cell with `inUse > 0`.
 */
export interface BulkheadCell extends BulkheadState, UsedCell {
  /** Someone was refused since the last release: the next release tells the listeners. */
  contended: boolean;
  readonly listeners: BulkheadListeners;
}

export function createBulkheadCell(now: number): BulkheadCell {
  return {
    inUse: 0,
    lastUsed: now,
    evicted: false,
    order: undefined,
    contended: false,
    listeners: new WeakListenerSet(),
  };
}

/**
 * Counts slots on an in-process cell: the engine behind `MemoryStore` and behind a bulkhead
 * created without a store. Synchronous and allocation-free.
 */
export class LocalBulkheadEngine implements BulkheadEngine {
  private readonly max: number;
  private cell: BulkheadCell | undefined;
  private closed = false;
  /** How the cell's listeners hold `listener`: weakly, while this engine holds it strongly. */
  private readonly ref: WeakRef<SlotFreedListener>;

  constructor(
    settings: BulkheadSettings,
    // Held so that the listener, which the cell's listeners hold only weakly, lives as long as this engine.
    // biome-ignore lint/correctness/noUnusedPrivateClassMembers: kept for its reference, see above
    private readonly listener: SlotFreedListener,
    /** Finds (or creates) the cell this engine works on. */
    private readonly attach: (now: number) => BulkheadCell,
  ) {
    this.max = settings.maxConcurrentCalls;
    this.ref = new WeakRef(listener);
  }

  tryAcquire(now: number): number {
    const cell = this.cellAt(now);
    if (cell.inUse < this.max) {
      cell.inUse++;
      return 0;
    }
    cell.contended = true;
    return BULKHEAD_FULL;
  }

  release(_lease: number, now: number): void {
    // The slot goes back to the cell that granted it, even if a store dropped that cell since.
    const cell = this.cell ?? this.cellAt(now);
    markUsed(cell, now);
    if (cell.inUse > 0) cell.inUse--;
    if (cell.contended) {
      cell.contended = false;
      cell.listeners.emit();
    }
  }

  read(now: number): number {
    return this.cellAt(now).inUse;
  }

  close(): void {
    this.closed = true;
    this.cell?.listeners.delete(this.ref);
  }

  private cellAt(now: number): BulkheadCell {
    let cell = this.cell;
    if (cell === undefined || cell.evicted) {
      cell?.listeners.delete(this.ref);
      cell = this.attach(now);
      if (!this.closed) cell.listeners.add(this.ref);
      this.cell = cell;
    }
    markUsed(cell, now);
    return cell;
  }
}
