/**
 * Promise helpers for tests that drive calls by hand: a promise settled from outside, an outcome
 * read without awaiting, and a turn of the microtask queue. Shared by the policy tests of core and
 * opossum and the pure-part tests of store-redis (plain TypeScript, no package imports).
 */

export interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

/** A promise and the functions that settle it. `deferred()` resolves with nothing. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface Tracked<T> {
  readonly done: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
}

/** Tracks a promise's outcome without awaiting it. */
export function track<T>(p: Promise<T>): Tracked<T> {
  const t = { done: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => {
      t.done = true;
      t.value = v;
    },
    (e: unknown) => {
      t.done = true;
      t.error = e;
    },
  );
  return t;
}

/** Lets promise continuations run without moving time (fake or real). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
