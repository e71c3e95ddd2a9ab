import { markUsed, type UsedCell } from './cell-use.js';
import type { WeakListenerSet } from './weak-listener-set.js';

/** A cell its engines listen to (a breaker's effects, a bulkhead's freed slots), holding them weakly. */
export interface ListenedCell<A extends unknown[]> extends UsedCell {
  readonly listeners: WeakListenerSet<A>;
}

/**
 * How the in-process breaker and bulkhead engines hold their cell, written once: attach to the
 * live cell (a store may have dropped the last one), listen to it while open, and stop listening
 * on close.
 */
export abstract class ListeningEngine<A extends unknown[], C extends ListenedCell<A>> {
  /** The cell attached last; a store may have dropped it since (`evicted`). */
  protected cell: C | undefined;
  private closed = false;
  /** How the cell's listeners hold `listener`: weakly, while this engine holds it strongly. */
  private readonly ref: WeakRef<(...args: A) => void>;

  protected constructor(
    // Held so that the listener, which the cell's listeners hold only weakly, lives as long as this engine.
    // biome-ignore lint/correctness/noUnusedPrivateClassMembers: kept for its reference, see above
    private readonly listener: (...args: A) => void,
    /** Finds (or creates) the cell this engine works on. */
    private readonly attach: (now: number) => C,
  ) {
    this.ref = new WeakRef(listener);
  }

  close(): void {
    this.closed = true;
    this.cell?.listeners.delete(this.ref);
  }

  /** The live cell, attached (and listened to) again if the store dropped the last one; marked used. */
  protected cellAt(now: number): C {
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
