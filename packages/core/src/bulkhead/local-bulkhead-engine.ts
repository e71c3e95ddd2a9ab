import { markUsed } from '../common/cell-use.js';
import { type ListenedCell, ListeningEngine } from '../common/listened-cell.js';
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
export interface BulkheadCell extends BulkheadState, ListenedCell<Parameters<SlotFreedListener>> {
  /** Someone was refused since the last release: the next release tells the listeners. */
  contended: boolean;
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
export class LocalBulkheadEngine
  extends ListeningEngine<Parameters<SlotFreedListener>, BulkheadCell>
  implements BulkheadEngine
{
  private readonly max: number;

  constructor(
    settings: BulkheadSettings,
    listener: SlotFreedListener,
    /** Finds (or creates) the cell this engine works on. */
    attach: (now: number) => BulkheadCell,
  ) {
    super(listener, attach);
    this.max = settings.maxConcurrentCalls;
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
}
