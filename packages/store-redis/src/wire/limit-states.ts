/**
 * The rate limiter's and the bulkhead's stored states, as `rate-limiter.lua` and `bulkhead.lua`
 * keep them, read for tools that show them (the scripts themselves are the only writers).
 */

/**
 * A rate limiter's key: `F <period> <permits>` (fixed window: the permits left in that period,
 * negative when callers reserved permits of later periods) or `G <tat>` (GCRA: the theoretical
 * arrival time, when the next permit is free). Neither holds the limit or the period's length:
 * the services configure them.
 */
export type StoredRateLimiterState =
  | { readonly algorithm: 'fixed-window'; readonly period: number; readonly permits: number }
  | { readonly algorithm: 'gcra'; readonly tat: number };

/** Reads a rate limiter's stored state; undefined when `raw` is not one. */
export function readRateLimiterState(raw: string): StoredRateLimiterState | undefined {
  const m = /^([A-Z]) (\S+) ?(\S*)$/.exec(raw);
  const x = Number(m?.[2]);
  const y = Number(m?.[3]);
  if (m?.[1] === 'F' && Number.isInteger(x) && m[3] !== '' && Number.isFinite(y)) {
    return { algorithm: 'fixed-window', period: x, permits: y };
  }
  if (m?.[1] === 'G' && m[3] === '' && Number.isFinite(x)) return { algorithm: 'gcra', tat: x };
  return undefined;
}

/** The member of a bulkhead's lease set that marks callers waiting for a slot (`MARK` in bulkhead.lua). */
export const BULKHEAD_WAITING_MARK = '~';

/** A slot taken: its member (the bulkhead instance that took it, and a sequence number) and expiry. */
export interface StoredBulkheadLease {
  readonly id: string;
  /** When it expires unless the process running the call renews it (epoch ms). */
  readonly expiresAt: number;
}

export interface StoredBulkheadState {
  /** Live leases, in the set's order (soonest to expire first). */
  readonly leases: readonly StoredBulkheadLease[];
  /** Leases past their expiry: the next call of the bulkhead reclaims them. */
  readonly expiredLeases: number;
  /** Callers were refused a slot and wait to be told of a release. */
  readonly callersWaiting: boolean;
}

/**
 * Reads a bulkhead's lease set (`ZRANGE <key> 0 -1 WITHSCORES`: member, score, ...) as the script
 * sees it at `nowMs` (it reclaims what expires at or before its now); undefined when a score is not
 * a finite expiry.
 */
export function readBulkheadState(
  withScores: readonly string[],
  nowMs: number,
): StoredBulkheadState | undefined {
  const leases: StoredBulkheadLease[] = [];
  let expiredLeases = 0;
  let callersWaiting = false;
  for (let i = 0; i + 1 < withScores.length; i += 2) {
    const id = withScores[i] as string;
    const expiresAt = Number(withScores[i + 1]);
    if (!Number.isFinite(expiresAt)) return undefined;
    const live = expiresAt > nowMs;
    if (id === BULKHEAD_WAITING_MARK) callersWaiting = live;
    else if (live) leases.push({ id, expiresAt });
    else expiredLeases++;
  }
  return { leases, expiredLeases, callersWaiting };
}
