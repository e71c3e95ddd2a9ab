/**
 * Which engine granted a permit, told from outside the store (no production hook):
 *
 * - Breakers and bulkheads: by the permit's token, which the caller holds. RedisBreakerEngine hands
 *   out tokens below 2^52 for Redis permits, tokens from 2^52 up for permits of its in-process
 *   fallback, and 2^53 - 2 under `onStoreFailure: 'allow'`; RedisBulkheadEngine answers 0 for a
 *   slot of its fallback, 2^53 - 2 for 'allow', and a positive sequence number for a Redis lease.
 *   This reads the store's private encoding: it lives here only, so that a change of it is one
 *   edit (and the fleet test checks that faults do produce fallback permits).
 * - Rate limiters: the answer is a wait, the same number from either engine, so the source comes
 *   from `store.onOperation`: every script call emits one OPERATION event before its operations
 *   settle, ok or not, and an operation is decided in-process only when its call failed. An acquire
 *   during which the store saw only successful calls of that script was answered by Redis; only
 *   failed calls, by the fallback; both (or none): unknown. Sound when the store holds a single
 *   rate limiter (its calls are then this limiter's), which is how the workers use it.
 */
import type { RedisStore } from '@breakwater/store-redis';
import type { PermitSource } from './history.js';

const FALLBACK_BASE = 2 ** 52;
const ALLOW_TOKEN = 2 ** 53 - 2;
const BULKHEAD_FALLBACK_TOKEN = 0;

export function breakerPermitSource(token: number): PermitSource {
  if (token === ALLOW_TOKEN) return 'allow';
  return token >= FALLBACK_BASE ? 'local' : 'redis';
}

export function bulkheadLeaseSource(token: number): PermitSource {
  if (token === ALLOW_TOKEN) return 'allow';
  return token === BULKHEAD_FALLBACK_TOKEN ? 'local' : 'redis';
}

/** The rate limiter's script, as the store names it in OPERATION events. */
export const RATE_LIMITER_SCRIPT = 'breakwaterRateLimiter';

/** Counts one script's calls on one store, ok and failed, to attribute the operations in between. */
export class OperationTally {
  private ok = 0;
  private failed = 0;

  constructor(store: RedisStore, script: string) {
    store.onOperation((op) => {
      if (op.operation !== script) return;
      if (op.ok) this.ok++;
      else this.failed++;
    });
  }

  mark(): { readonly ok: number; readonly failed: number } {
    return { ok: this.ok, failed: this.failed };
  }

  /** The source of an operation issued at `mark` and settled now. */
  sourceSince(mark: { readonly ok: number; readonly failed: number }): PermitSource {
    const ok = this.ok > mark.ok;
    const failed = this.failed > mark.failed;
    if (failed) return ok ? 'unknown' : 'local';
    return ok ? 'redis' : 'unknown';
  }

  /** Script calls seen so far (to tell that the attribution saw anything at all). */
  get calls(): number {
    return this.ok + this.failed;
  }
}
