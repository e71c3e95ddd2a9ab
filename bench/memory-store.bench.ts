/**
 * Issue 11's benchmark for the MemoryStore: what a NEW name costs (a breaker created for it and
 * one call through it) on a store that holds at most 10,000 policies and is full, so that every
 * new name evicts one, against a store without a bound. Target: at most 3x the unbounded cost
 * (eviction used to scan every cell: ~900x).
 *
 * The unbounded store is replaced by a fresh one every 10,000 names, so that both stores hold at
 * most 10,000 names and the garbage collector has the same live heap to walk in both cases: an
 * ever-growing store would make the unbounded case slower and flatter the ratio.
 */
import { CircuitBreaker } from '@breakwater/core';
import { MemoryStore } from '@breakwater/store-memory';
import { type CheckOutcome, defineSuite, type Invoke, overBare, overheadRatio, premise } from './harness.js';

const VALUE = { ok: true };
const succeed = async () => VALUE;

const MAX_SIZE = 10_000;

let names = 0;
/** A name never used before, in any store of this suite. */
const newName = () => `bench-tenant-${names++}`;

/** One call on a new name: the breaker is created, used once and dropped, as per-tenant code does. */
function onNewName(store: () => MemoryStore): Invoke {
  return () => CircuitBreaker.of(newName(), undefined, { store: store() }).execute(succeed);
}

let unbounded = new MemoryStore();
let unboundedNames = 0;
const bounded = new MemoryStore({ maxSize: MAX_SIZE });

async function fillBounded(): Promise<void> {
  for (let i = 0; i < MAX_SIZE; i++)
    await CircuitBreaker.of(newName(), undefined, { store: bounded }).execute(succeed);
}

export default defineSuite({
  description: 'a new name on a MemoryStore, full at maxSize 10,000 vs unbounded (issue 11)',
  cases: [
    { id: 'bare', label: 'bare await fn()', setup: () => succeed },
    overBare('new-name-unbounded', 'new name, unbounded store', () =>
      onNewName(() => {
        if (++unboundedNames > MAX_SIZE) {
          unbounded = new MemoryStore();
          unboundedNames = 1;
        }
        return unbounded;
      }),
    ),
    overBare('new-name-evicting', 'new name, full store (maxSize 10,000)', async () => {
      await fillBounded();
      return onNewName(() => bounded);
    }),
  ],
  ratios: [
    overheadRatio(
      'memory-store-evicting-vs-unbounded',
      'new name: full maxSize 10,000 / unbounded',
      'new-name-evicting',
      'new-name-unbounded',
      3,
    ),
  ],
  verify: async (): Promise<CheckOutcome[]> => {
    // The timed case only means something if the store was full (every new name evicted one).
    return premise(
      bounded.size === MAX_SIZE ? [] : [`the bounded store holds ${bounded.size} names, not ${MAX_SIZE}`],
      `the bounded store held ${MAX_SIZE} names throughout (${names} names created in all)`,
    );
  },
  teardown: () => {
    unbounded.clear();
    bounded.clear();
  },
});
