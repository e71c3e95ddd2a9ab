import { markUsed } from '@breakwater/core/engine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EvictionOrder, NOWHERE, type OrderedCell } from './eviction-order.js';

/** A stand-in for a store's cell: its droppability and business are set by hand. */
interface Cell extends OrderedCell<Cell> {
  readonly id: number;
  /** What `droppableFrom` answers. */
  from: number;
  busy: boolean;
}

const NOW_ON = Number.NEGATIVE_INFINITY;
const PINNED = Number.POSITIVE_INFINITY;

function setup() {
  const calls = { rules: 0 };
  const order = new EvictionOrder<Cell>({
    droppableFrom: (c) => {
      calls.rules++;
      return c.from;
    },
    busy: (c) => {
      calls.rules++;
      return c.busy;
    },
  });
  const cells = new Map<number, Cell>();
  let ids = 0;
  const add = (now: number, from = NOW_ON, busy = false): Cell => {
    const cell: Cell = {
      id: ids++,
      lastUsed: now,
      evicted: false,
      order: undefined,
      prev: undefined,
      next: undefined,
      place: NOWHERE,
      seq: 0,
      from,
      busy,
    };
    cells.set(cell.id, cell);
    order.add(cell);
    return cell;
  };
  const drop = (cell: Cell) => {
    cell.evicted = true;
    order.remove(cell);
    cells.delete(cell.id);
  };
  return { order, cells, add, drop, calls };
}

/** The rule the order must follow, as MemoryStore used to compute it by scanning every cell. */
function referenceRank(cell: Cell, now: number): number {
  return cell.lastUsed + (now >= cell.from ? 0 : Number.MAX_SAFE_INTEGER / 2);
}

describe('EvictionOrder', () => {
  it('drops the least recently used cell; a used cell goes to the recent end', () => {
    const { order, add } = setup();
    const a = add(1);
    const b = add(2);
    const c = add(3);
    markUsed(a, 4);
    expect(order.victim(5, c)).toBe(b);
  });

  it('passes over pinned and waiting cells and never picks running ones, or the one to keep', () => {
    const { order, add, drop } = setup();
    const pinned = add(1, PINNED);
    const waiting = add(2, 100);
    const running = add(3, NOW_ON, true);
    const plain = add(4);
    const keep = add(5);
    expect(order.victim(50, keep)).toBe(plain);
    drop(plain);
    // Nothing droppable without loss: the least recently used of the pinned and waiting ones.
    expect(order.victim(50, keep)).toBe(pinned);
    // The wait is over: the waiting cell is droppable again, and older than anything recent.
    const newer = add(60);
    expect(order.victim(100, newer)).toBe(waiting);
    drop(waiting);
    drop(pinned);
    expect(order.victim(100, newer)).toBe(keep);
    drop(keep);
    expect(order.victim(100, newer)).toBeUndefined(); // only the running one is left
    running.busy = false;
    markUsed(running, 101); // the slot is given back: a use
    expect(order.victim(102, newer)).toBe(running);
  });

  it('a pinned cell set aside comes back into the order when used', () => {
    const { order, add } = setup();
    const a = add(1, PINNED);
    const b = add(2);
    const keep = add(3);
    expect(order.victim(10, keep)).toBe(b); // a is set aside on the way
    a.from = NOW_ON; // the operator closed it: a use of the cell
    markUsed(a, 11);
    const c = add(12);
    expect(order.victim(13, c)).toBe(b); // b is still the oldest: it was never dropped here
    b.evicted = true;
    order.remove(b);
    expect(order.victim(13, c)).toBe(keep);
  });

  it('a dropped cell links to nothing', () => {
    const { order, add, drop } = setup();
    add(1);
    const b = add(2);
    add(3);
    drop(b);
    expect(b.prev).toBeUndefined();
    expect(b.next).toBeUndefined();
    expect(b.order).toBeUndefined();
    markUsed(b, 4); // an engine still holding it: nothing happens to the order
    expect(order.newest).not.toBe(b);
  });

  it('eviction looks at O(1) cells per eviction, amortized, with 10,000 cells held', () => {
    const { order, add, drop, calls } = setup();
    const N = 10_000;
    let now = 0;
    for (let i = 0; i < N; i++) add(now++, i % 10 === 0 ? now + 5_000 : NOW_ON);
    calls.rules = 0;
    for (let i = 0; i < N; i++) {
      const keep = add(now++);
      const victim = order.victim(now, keep);
      if (victim === undefined) throw new Error('nothing to evict');
      drop(victim);
    }
    // A scan of every cell would be 10,000 calls per eviction (10^8 in all).
    expect(calls.rules).toBeLessThanOrEqual(4 * N);
  });

  it('property: the victim always ranks first by the rule of a full scan (droppable first, then least recently used)', () => {
    type From = 'now' | 'pinned' | 'wait';
    type Op =
      // A new cell, then evictions down to maxSize, as MemoryStore does when it creates one.
      | { kind: 'add'; from: From; busy: boolean; maxSize: number }
      // A use that may change what the cell is (an engine's operation).
      | { kind: 'use'; pick: number; from: From; busy: boolean }
      | { kind: 'advance'; ms: number };
    const from = fc.constantFrom<From>('now', 'now', 'pinned', 'wait');
    const busy = fc.integer({ min: 0, max: 9 }).map((n) => n < 2);
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('add' as const),
          from,
          busy,
          maxSize: fc.integer({ min: 1, max: 8 }),
        }),
      },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('use' as const), pick: fc.nat(), from, busy }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 50 }) }),
      },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 120, size: 'max' }), (ops) => {
        const { order, cells, add, drop } = setup();
        let now = 0;
        const fromOf = (f: From) => (f === 'now' ? NOW_ON : f === 'pinned' ? PINNED : now + 1 + (now % 37));
        for (const o of ops) {
          if (o.kind === 'advance') now += o.ms;
          else if (o.kind === 'use') {
            const all = [...cells.values()];
            if (all.length === 0) continue;
            const cell = all[o.pick % all.length];
            cell.from = fromOf(o.from);
            cell.busy = o.busy;
            markUsed(cell, now);
          } else {
            const keep = add(now, fromOf(o.from), o.busy);
            while (cells.size > o.maxSize) {
              const candidates = [...cells.values()].filter((c) => c !== keep && !c.busy);
              const victim = order.victim(now, keep);
              if (candidates.length === 0) {
                expect(victim).toBeUndefined();
                break;
              }
              if (victim === undefined) throw new Error('no victim although some cell can go');
              expect(victim === keep || victim.busy).toBe(false);
              const best = Math.min(...candidates.map((c) => referenceRank(c, now)));
              expect(referenceRank(victim, now)).toBe(best);
              drop(victim);
            }
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
