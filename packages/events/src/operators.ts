import { filter, type OperatorFunction } from 'rxjs';
import type { EventShape, Narrow } from './types.js';

/**
 * Keeps the events of the given kinds (`'circuitbreaker'`, `'retry'`, `'ratelimiter'`,
 * `'timelimiter'`, `'bulkhead'`, `'store'`), narrowing the stream's type to them.
 *
 *     eventsOf(registry).pipe(ofKind('circuitbreaker'))
 */
export function ofKind<E extends EventShape, K extends E['kind']>(
  ...kinds: [K, ...K[]]
): OperatorFunction<E, Narrow<E, 'kind', K>> {
  const wanted: ReadonlySet<string> = new Set(kinds);
  return filter((event: E): event is Narrow<E, 'kind', K> & E => wanted.has(event.kind));
}

/**
 * Keeps the events of the given types (`'STATE_TRANSITION'`, `'NOT_PERMITTED'`, `'STORE_FAILURE'`,
 * ...), narrowing the stream's type to them. Types are shared across kinds (`'SUCCESS'` is
 * published by breakers, retries and time limiters): combine with `ofKind` to tell them apart.
 */
export function ofType<E extends EventShape, T extends E['type']>(
  ...types: [T, ...T[]]
): OperatorFunction<E, Narrow<E, 'type', T>> {
  const wanted: ReadonlySet<string> = new Set(types);
  return filter((event: E): event is Narrow<E, 'type', T> & E => wanted.has(event.type));
}

/** A circuit breaker's STATE_TRANSITION event, local or fleet-wide. */
export type TransitionOf<E> = Narrow<Narrow<E, 'kind', 'circuitbreaker'>, 'type', 'STATE_TRANSITION'>;

/** Keeps the circuit breakers' state transitions (local, or fleet-wide with their `origin`). */
export function transitions<E extends EventShape>(): OperatorFunction<E, TransitionOf<E>> {
  return filter(
    (event: E): event is TransitionOf<E> & E =>
      event.kind === 'circuitbreaker' && event.type === 'STATE_TRANSITION',
  );
}
