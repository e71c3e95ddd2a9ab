import { getEventListeners } from 'node:events';

/**
 * Node 20 builds every AbortSignal with Object.setPrototypeOf, about 3 µs: more than a whole
 * time-limited call may cost. So a controller whose call settled in time goes back to a pool, but
 * only when nothing can still observe an abort of its signal: no 'abort' listener (which covers
 * `onabort`, `events.addAbortListener`, fetch, streams, timers/promises) and no signal derived from it
 * with `AbortSignal.any`. What remains unseen is code that keeps the signal past its call and polls
 * `signal.aborted`; such code must listen instead.
 */
const MAX_POOLED = 256;
const pool: AbortController[] = [];

type SymbolKeyed = Record<symbol, unknown>;

/**
 * The private key under which Node records signals derived with AbortSignal.any, found once by
 * probing. `undefined`: no AbortSignal.any, nothing can be derived. `null`: not found, so derived
 * signals cannot be detected and nothing is pooled.
 */
const dependantsKey: symbol | null | undefined = findDependantsKey();

/** A controller whose signal is not aborted and has never been listened to by anyone still listening. */
export function takeAbortController(): AbortController {
  return pool.pop() ?? new AbortController();
}

/** Hands back a controller whose call is over; it is pooled only when no one can observe it any more. */
export function returnAbortController(controller: AbortController): void {
  if (pool.length >= MAX_POOLED || dependantsKey === null) return;
  const signal = controller.signal;
  if (signal.aborted || getEventListeners(signal, 'abort').length !== 0) return;
  if (dependantsKey !== undefined && (signal as unknown as SymbolKeyed)[dependantsKey] !== undefined) return;
  pool.push(controller);
}

/** For tests: how many controllers wait in the pool. */
export function pooledAbortControllers(): number {
  return pool.length;
}

function findDependantsKey(): symbol | null | undefined {
  if (typeof AbortSignal.any !== 'function') return undefined;
  const probe = new AbortController().signal;
  const before = new Set(Object.getOwnPropertySymbols(probe));
  AbortSignal.any([probe]);
  const added = Object.getOwnPropertySymbols(probe).filter((key) => !before.has(key));
  return added.length === 1 ? added[0] : null;
}
