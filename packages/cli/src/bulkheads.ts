/**
 * A bulkhead as the CLI shows it, from its lease set as @breakwater/store-redis/wire reads it
 * (`readBulkheadState`). The set does not hold maxConcurrentCalls: the services configure it.
 */
import { bulkheadKeys, readBulkheadState } from '@breakwater/store-redis/wire';
import { type Connection, isWrongType, ttlOf } from './connection.js';

export interface BulkheadLease {
  /** The lease's member: the bulkhead instance that took it, and a sequence number. */
  readonly id: string;
  /** When it expires unless renewed (epoch ms). */
  readonly expiresAt: number;
}

export interface BulkheadStatus {
  readonly kind: 'bulkhead';
  readonly name: string;
  readonly key: string;
  /** Slots taken by calls running now, in some process. */
  readonly leasesHeld: number;
  /** The leases held, the soonest to expire first. */
  readonly leases: readonly BulkheadLease[];
  /** Leases past their expiry (their process stopped renewing them): the next call reclaims them. */
  readonly expiredLeases: number;
  /** Callers were refused a slot and wait for a release to be told of it. */
  readonly callersWaiting: boolean;
  /** Time left before the set expires (when its latest lease does), ms. */
  readonly ttlMs: number | null;
  /** Why the set could not be read. */
  readonly problem?: string;
}

type Base = Pick<BulkheadStatus, 'kind' | 'name' | 'key'>;

const EMPTY = { leasesHeld: 0, leases: [], expiredLeases: 0, callersWaiting: false } as const;

/** What the CLI shows of a lease set (`ZRANGE <key> 0 -1 WITHSCORES`: member, score, ...). */
export function bulkheadStatusOf(
  name: string,
  key: string,
  withScores: readonly string[],
  pttl: number,
  nowMs: number,
): BulkheadStatus {
  const base: Base = { kind: 'bulkhead', name, key };
  const ttlMs = ttlOf(pttl);
  const state = readBulkheadState(withScores, nowMs);
  if (state === undefined) return invalid(base, 'a lease that never expires', ttlMs);
  const { leases, expiredLeases, callersWaiting } = state;
  return { ...base, leasesHeld: leases.length, leases, expiredLeases, callersWaiting, ttlMs };
}

function invalid(base: Base, what: string, ttlMs: number | null): BulkheadStatus {
  return { ...base, ...EMPTY, ttlMs, problem: `the key holds ${what}: the next call resets it` };
}

/** Reads a bulkhead's lease set; undefined when there is none (no slot taken, nobody waiting). */
export async function readBulkhead(
  conn: Connection,
  prefix: string,
  name: string,
  nowMs: number,
): Promise<BulkheadStatus | undefined> {
  const key = bulkheadKeys(prefix, name).leases;
  const [members, pttl] = await Promise.all([
    conn.zrange(key, 0, -1, 'WITHSCORES').catch((error: unknown) => {
      if (isWrongType(error)) return undefined;
      throw error;
    }),
    conn.pttl(key),
  ]);
  if (pttl === -2) return undefined; // no such key
  if (members === undefined)
    return invalid({ kind: 'bulkhead', name, key }, 'another type of value', ttlOf(pttl));
  return bulkheadStatusOf(name, key, members, pttl, nowMs);
}
