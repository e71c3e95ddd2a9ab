/**
 * A rate limiter as the CLI shows it, from its stored state as @breakwater/store-redis/wire reads it
 * (`readRateLimiterState`). The state holds neither the limit nor the period's length: the services
 * configure them.
 */
import { rateLimiterKey, readRateLimiterState } from '@breakwater/store-redis/wire';
import { type Connection, isWrongType, ttlOf } from './connection.js';

export interface RateLimiterStatus {
  readonly kind: 'ratelimiter';
  readonly name: string;
  readonly key: string;
  /** As configured (`algorithm`); INVALID when the key holds no rate limiter state. */
  readonly algorithm: 'fixed-window' | 'gcra' | 'INVALID';
  /** fixed-window: the period the state is of (epoch ms / limitRefreshPeriod). */
  readonly period: number | null;
  /** fixed-window: permits left in that period. */
  readonly permitsLeft: number | null;
  /** fixed-window: permits of later periods reserved by callers waiting for them. */
  readonly permitsReserved: number | null;
  /** gcra: when the next permit is free (epoch ms); at or before now: one is free now. */
  readonly nextPermitAt: number | null;
  /** Time left before the key is deleted (the state is then as fresh as a new one), ms. */
  readonly ttlMs: number | null;
  /** Why the state could not be read (with algorithm INVALID). */
  readonly problem?: string;
}

const NO_STATE = { period: null, permitsLeft: null, permitsReserved: null, nextPermitAt: null } as const;

/** What the CLI shows of a stored rate limiter state (`raw`), as the script reads it. */
export function rateLimiterStatusOf(name: string, key: string, raw: string, pttl: number): RateLimiterStatus {
  const base = { kind: 'ratelimiter', name, key } as const;
  const ttlMs = ttlOf(pttl);
  const state = readRateLimiterState(raw);
  if (state?.algorithm === 'fixed-window') {
    return {
      ...base,
      ...NO_STATE,
      algorithm: 'fixed-window',
      period: state.period,
      permitsLeft: Math.max(state.permits, 0),
      permitsReserved: Math.max(-state.permits, 0),
      ttlMs,
    };
  }
  if (state?.algorithm === 'gcra')
    return { ...base, ...NO_STATE, algorithm: 'gcra', nextPermitAt: state.tat, ttlMs };
  return invalid(base, 'no rate limiter state', ttlMs);
}

function invalid(
  base: Pick<RateLimiterStatus, 'kind' | 'name' | 'key'>,
  what: string,
  ttlMs: number | null,
): RateLimiterStatus {
  return {
    ...base,
    ...NO_STATE,
    algorithm: 'INVALID',
    ttlMs,
    problem: `the key holds ${what}: the next call resets it`,
  };
}

/** Reads a rate limiter's stored state; undefined when there is no such key. */
export async function readRateLimiter(
  conn: Connection,
  prefix: string,
  name: string,
): Promise<RateLimiterStatus | undefined> {
  const key = rateLimiterKey(prefix, name);
  const [raw, pttl] = await Promise.all([
    conn.get(key).catch((error: unknown) => {
      if (isWrongType(error)) return { wrongType: true } as const;
      throw error;
    }),
    conn.pttl(key),
  ]);
  if (raw === null) return undefined;
  if (typeof raw !== 'string') {
    return invalid({ kind: 'ratelimiter', name, key }, 'another type of value', ttlOf(pttl));
  }
  return rateLimiterStatusOf(name, key, raw, pttl);
}
