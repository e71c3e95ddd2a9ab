import { BreakwaterError } from '@breakwater/core';

/**
 * Why a script call did not get its answer:
 * - `timeout`: Redis did not answer within the command timeout;
 * - `connection`: the connection was down (or went down with the call in flight);
 * - `guard_open`: the store's guard refused to try (Redis failed repeatedly just before);
 * - `reply`: Redis answered with an error, or with a reply the store cannot read;
 * - `closed`: the store was closed.
 */
export type StoreFailureReason = 'timeout' | 'connection' | 'guard_open' | 'reply' | 'closed';

/** Redis could not answer in time, is down, answered with an error, or the store's guard refuses to try. */
export class StoreUnavailableError extends BreakwaterError {
  override name = 'StoreUnavailableError';
  constructor(
    message: string,
    readonly reason: StoreFailureReason,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * What a failed script call did in Redis, as far as the store can tell:
 * - `not-applied`: nothing (it was never sent, or Redis refused it with an error);
 * - `unknown`: it may or may not have run (the connection dropped with it in flight), and no
 *   answer will come;
 * - `pending`: it timed out but is still in flight: exactly one late answer follows
 *   (`lateReply` or `lateFailed`);
 * - `applied`: it ran, but its reply could not be read.
 */
export type CallFate = 'not-applied' | 'unknown' | 'pending' | 'applied';

/**
 * Reply errors that say something about Redis as a whole, not about one policy's request:
 * the store's health counts them (the guard, STORE_FAILURE). Any other error Redis answers with
 * (a script error, WRONGTYPE...) belongs to the request that got it.
 */
const STORE_WIDE_REPLY =
  /^(OOM|LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOPERM|NOAUTH|WRONGPASS|MISCONF|NOREPLICAS|NOSCRIPT)\b|\bNOPERM\b|no permissions to|can't run this command|\bOOM command not allowed\b|max number of clients/i;

/**
 * Errors ioredis raises before a command reached the socket: nothing ran. (Not its
 * MaxRetriesPerRequestError: on a lost connection it flushes the commands already written with it
 * too, and those may have run.)
 */
const NOT_SENT = /Stream isn't writeable|isn't ready and enableOfflineQueue/i;

/** Turns what ioredis rejected a call with into a store error, and says what the call did in Redis. */
export function classifyCallError(error: unknown): { error: StoreUnavailableError; fate: CallFate } {
  if (error instanceof StoreUnavailableError) return { error, fate: 'not-applied' };
  const e = error as { name?: unknown; message?: unknown } | null | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (e?.name === 'ReplyError') {
    return { error: new StoreUnavailableError(message, 'reply', error), fate: 'not-applied' };
  }
  return {
    error: new StoreUnavailableError(message, 'connection', error),
    fate: NOT_SENT.test(message) ? 'not-applied' : 'unknown',
  };
}

/** True when an error says Redis as a whole cannot serve (it counts against the store's health). */
export function isStoreWide(error: StoreUnavailableError): boolean {
  if (error.reason !== 'reply') return error.reason !== 'closed';
  const cause = error.cause as { name?: unknown } | undefined;
  return cause?.name === 'ReplyError' && STORE_WIDE_REPLY.test(error.message);
}
