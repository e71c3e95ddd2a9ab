import { BreakwaterError } from '@breakwater/core';

/**
 * Why the shared tier did not answer:
 * - `timeout`: no answer within `l2TimeoutMs`;
 * - `connection`: the connection was down (or went down with the command in flight);
 * - `reply`: Redis answered with an error;
 * - `closed`: the store was closed.
 *
 * Only `timeout` and `connection` count against the tier's health (its breaker).
 */
export type CacheTierFailure = 'timeout' | 'connection' | 'reply' | 'closed';

/** A command to the shared tier failed; the cache answered from the loader instead. */
export class CacheTierError extends BreakwaterError {
  override name = 'CacheTierError';
  constructor(
    message: string,
    readonly reason: CacheTierFailure,
    options?: ErrorOptions,
  ) {
    super(message, undefined, options);
  }
}

/** Failures that say the tier is unhealthy: the only ones its breaker records. */
export function isTierOutage(error: unknown): boolean {
  return error instanceof CacheTierError && (error.reason === 'timeout' || error.reason === 'connection');
}

/**
 * Error replies that say Redis as a whole cannot serve now (a cluster without a majority, a server
 * loading its data or stuck in a script): an outage like a lost connection, not an answer.
 */
const UNAVAILABLE_REPLY = /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|BUSY)\b/;

/** What ioredis rejected a command with, as a tier error. */
export function toTierError(error: unknown): CacheTierError {
  if (error instanceof CacheTierError) return error;
  const e = error as { name?: unknown; message?: unknown } | null | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const reason = e?.name === 'ReplyError' && !UNAVAILABLE_REPLY.test(message) ? 'reply' : 'connection';
  return new CacheTierError(message, reason, { cause: error });
}
