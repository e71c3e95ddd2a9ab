/**
 * How a store that drops its least recently used cells learns of each use without engines
 * knowing how it keeps them. A cell of such a store carries the store's `UseOrder`; engines call
 * `markUsed` on every operation, which costs one comparison while the same cell is used again
 * (bench `chain`, case `ours-store`; `memory-store` for the LRU order itself).
 */
export interface UseOrder {
  /** The cell used last: using it again changes no order, so engines do not call `touch`. */
  readonly newest: object | undefined;
  /** Moves `cell` to the most recently used end. */
  touch(cell: object): void;
}

/** What every in-process cell has for idle expiry and eviction. */
export interface UsedCell {
  /** Epoch ms of the last operation, for idle expiry. */
  lastUsed: number;
  /** Set by a store that dropped the cell; engines then attach to a new one. */
  evicted: boolean;
  /** The store's order of use; undefined for a cell private to one policy, or dropped. */
  order: UseOrder | undefined;
}

/** Records a use of `cell` at `now` (epoch ms). */
export function markUsed(cell: UsedCell, now: number): void {
  cell.lastUsed = now;
  const order = cell.order;
  if (order !== undefined && order.newest !== cell) order.touch(cell);
}
