import type { UsedCell, UseOrder } from '@breakwater/core/engine';
import { MinHeap } from './min-heap.js';

/** Where a cell is kept (`OrderedCell.place`); a cell not yet added is `NOWHERE`. */
export const NOWHERE = 0;
const RECENT = 1;
const HELD = 2;
const BUSY = 3;

/** A cell as the order links it; `C` is the store's union of cell types. */
export interface OrderedCell<C> extends UsedCell {
  prev: C | undefined;
  next: C | undefined;
  place: number;
  /** Rank in the order of use: a cell with a larger `seq` was used later. */
  seq: number;
}

export interface EvictionRules<C> {
  /**
   * Epoch ms from which dropping `cell` loses nothing anyone relies on, as far as time alone goes:
   * -Infinity for now, +Infinity for "not until it is used again" (an operator's pin).
   */
  droppableFrom(cell: C): number;
  /** Calls are running on `cell`: it is never dropped while they do. */
  busy(cell: C): boolean;
}

/** A doubly linked list through the cells' own `prev`/`next`, oldest first. */
class CellList<C extends OrderedCell<C>> {
  head: C | undefined;
  tail: C | undefined;

  constructor(readonly place: number) {}

  append(cell: C): void {
    cell.place = this.place;
    cell.prev = this.tail;
    cell.next = undefined;
    if (this.tail === undefined) this.head = cell;
    else this.tail.next = cell;
    this.tail = cell;
  }

  /** Unlinks `cell`, which must be in this list; its links are cleared so it pins no neighbour. */
  remove(cell: C): void {
    const { prev, next } = cell;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    cell.prev = undefined;
    cell.next = undefined;
    cell.place = NOWHERE;
  }

  /** Unlinks every cell, calling `forget` on each. */
  clear(forget: (cell: C) => void): void {
    for (let cell = this.head; cell !== undefined; ) {
      const next = cell.next;
      cell.prev = undefined;
      cell.next = undefined;
      cell.place = NOWHERE;
      forget(cell);
      cell = next;
    }
    this.head = undefined;
    this.tail = undefined;
  }
}

interface Entry<C> {
  readonly key: number;
  readonly cell: C;
  /** The cell's `seq` when the entry was made: a cell used since is no longer held, and the entry is stale. */
  readonly seq: number;
}

/**
 * The order in which a store drops cells to stay within its size: the least recently used cell
 * that can be dropped without loss; when none can, the least recently used of the others (never
 * one with running calls). O(1) amortized per use and per eviction, plus O(log n) for a cell
 * whose loss is only temporary (an OPEN breaker still waiting, a rate limiter's period in use).
 *
 * Engines report each use (`touch`, through `markUsed`), which moves the cell to the recent end.
 * Cells are judged only when they reach the old end: one that cannot be dropped then is set
 * aside, in order of use, until it is used again (it goes back to the recent end) or, for a loss
 * that ends at a known time, until that time has come. Everything set aside was used before
 * everything still in `recent`, which is what makes the first droppable cell found the least
 * recently used one.
 */
export class EvictionOrder<C extends OrderedCell<C>> implements UseOrder {
  private readonly recent = new CellList<C>(RECENT);
  /** Set aside because they could not be dropped, in order of use. */
  private readonly held = new CellList<C>(HELD);
  /** Set aside because calls were running on them. */
  private readonly running = new CellList<C>(BUSY);
  /** Held cells whose loss ends at a known time, by that time. */
  private readonly waiting = new MinHeap<Entry<C>>();
  /** Held cells whose time has come, by order of use. */
  private readonly due = new MinHeap<Entry<C>>();
  private uses = 0;

  constructor(private readonly rules: EvictionRules<C>) {}

  get newest(): C | undefined {
    return this.recent.tail;
  }

  /** Starts ordering `cell`, as the most recently used. */
  add(cell: C): void {
    cell.order = this;
    this.toRecent(cell);
  }

  touch(cell: object): void {
    const c = cell as C; // only cells added here carry this order
    this.listOf(c)?.remove(c);
    this.toRecent(c);
  }

  /** Stops ordering `cell` (it was dropped): it holds no link into the order any more. */
  remove(cell: C): void {
    this.listOf(cell)?.remove(cell);
    cell.order = undefined;
  }

  /** Stops ordering every cell. */
  clear(): void {
    const forget = (cell: C) => {
      cell.order = undefined;
    };
    this.recent.clear(forget);
    this.held.clear(forget);
    this.running.clear(forget);
    this.waiting.clear();
    this.due.clear();
  }

  /**
   * The cell to drop next as of `now` (epoch ms), never `keep` (the cell just created, which
   * counts as the most recently used); undefined if every other cell has running calls.
   */
  victim(now: number, keep: C): C | undefined {
    if (this.recent.tail !== keep) this.touch(keep);
    // Held cells whose time has come, least recently used first: they were all used before
    // anything still in `recent`.
    for (let e = this.waiting.peek(); e !== undefined && e.key <= now; e = this.waiting.peek()) {
      this.waiting.pop();
      if (isHeld(e)) this.due.push({ key: e.cell.seq, cell: e.cell, seq: e.seq });
    }
    for (let e = this.due.pop(); e !== undefined; e = this.due.pop()) {
      if (!isHeld(e)) continue;
      const from = this.rules.droppableFrom(e.cell);
      if (from <= now) return e.cell;
      this.wait(e.cell, from); // only if clocks disagree: `now` is the caller's
    }
    // The old end of `recent`: the first droppable cell is the least recently used one; the
    // others are set aside on the way.
    for (let cell = this.recent.head; cell !== keep && cell !== undefined; cell = this.recent.head) {
      if (this.rules.busy(cell)) {
        this.recent.remove(cell);
        this.running.append(cell);
        continue;
      }
      const from = this.rules.droppableFrom(cell);
      if (from <= now) return cell;
      this.recent.remove(cell);
      this.held.append(cell);
      this.wait(cell, from);
    }
    // Nothing can be dropped without loss: the least recently used of the cells set aside.
    return this.held.head;
  }

  private wait(cell: C, from: number): void {
    if (from !== Number.POSITIVE_INFINITY) this.waiting.push({ key: from, cell, seq: cell.seq });
  }

  private toRecent(cell: C): void {
    cell.seq = ++this.uses;
    this.recent.append(cell);
  }

  private listOf(cell: C): CellList<C> | undefined {
    switch (cell.place) {
      case RECENT:
        return this.recent;
      case HELD:
        return this.held;
      case BUSY:
        return this.running;
      default:
        return undefined;
    }
  }
}

function isHeld<C extends OrderedCell<C>>(e: Entry<C>): boolean {
  return e.cell.place === HELD && e.cell.seq === e.seq;
}
