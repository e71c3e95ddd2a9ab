/**
 * Shared setup of the compatibility suite (`*.test.ts` beside it): breakers shut down when their
 * test ends, an event recorder, and small actions (time: ./time.test-support.ts). Not a test file
 * itself.
 */
import type { EventEmitter } from 'node:events';
import { onTestFinished } from 'vitest';
import CircuitBreaker from './index.js';

/** `new CircuitBreaker(action, options)`, shut down when the test that made it ends. */
export function breaker<TI extends unknown[], TR>(
  action: (...args: TI) => TR | PromiseLike<TR>,
  options?: CircuitBreaker.Options<TI>,
): CircuitBreaker<TI, TR> {
  const b = new CircuitBreaker(action, options);
  onTestFinished(() => b.shutdown());
  return b;
}

export const ALL_EVENTS = [
  'fire',
  'success',
  'failure',
  'reject',
  'timeout',
  'open',
  'close',
  'halfOpen',
  'fallback',
  'semaphoreLocked',
  'healthCheckFailed',
  'shutdown',
  'cacheHit',
  'cacheMiss',
  'coalesceCacheHit',
  'coalesceCacheMiss',
  'cacheInvalidate',
] as const;

export type EventName = (typeof ALL_EVENTS)[number];
export interface Recorded {
  readonly name: EventName;
  readonly args: unknown[];
}

/** Records the events (all of them by default) in the order they are emitted. */
export function record(b: EventEmitter, names: readonly EventName[] = ALL_EVENTS): Recorded[] {
  const seen: Recorded[] = [];
  for (const name of names) b.on(name, (...args: unknown[]) => seen.push({ name, args }));
  return seen;
}

/** The names of the recorded events, in order. */
export function namesOf(events: readonly Recorded[]): EventName[] {
  return events.map((e) => e.name);
}

export class DownstreamError extends Error {
  override name = 'DownstreamError';
  constructor(
    message = 'downstream failed',
    readonly statusCode = 500,
  ) {
    super(message);
  }
}

/** An action that resolves with `x * 2`, or rejects with a DownstreamError when `x` is negative. */
export async function double(x: number): Promise<number> {
  if (x < 0) throw new DownstreamError(`negative: ${x}`, -x);
  return x * 2;
}

/** Fires `n` calls of `b` with `arg`, one after the other, and returns how each ended. */
export async function fireMany(
  b: { fire(x: number): Promise<unknown> },
  n: number,
  arg: number,
): Promise<('ok' | string)[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await b.fire(arg).then(
        () => 'ok',
        (e: { code?: string; name?: string }) => e.code ?? e.name ?? 'error',
      ),
    );
  }
  return out;
}
