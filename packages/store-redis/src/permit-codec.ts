/**
 * What the Redis engines hand to the policies as numbers, in one place. The policies' contracts
 * (@breakwater/core) fix the refusals: a breaker refuses with a `DENIED_*` code (< 0), a bulkhead
 * with `BULKHEAD_FULL`, a rate limiter with `-retryAfterMs`; a permit or lease is any number >= 0
 * that the engine alone reads back. The Redis engines pack into it where the permit came from:
 *
 * Breaker permits
 *   shared   generation * LEASE_SPAN + lease, below LOCAL_BASE: granted by the script (lease 0
 *            outside HALF_OPEN, where no probe lease is held)
 *   local    LOCAL_BASE + epoch * LOCAL_EPOCH + the fallback engine's own permit: granted in-process
 *            while Redis could not answer, in fallback episode `epoch`
 *   ALLOW    under `onStoreFailure: 'allow'`: a permit nobody records
 *   CURRENT_PERMIT (core's -1) is not a permit this engine grants: the manual API records with it,
 *            against the current generation, and the script takes generation -1 to mean just that.
 *
 * Bulkhead leases
 *   1 .. 2^52  a slot in Redis (its lease member is `<engine prefix><lease in base 36>`)
 *   LOCAL      the fallback engine's slot (it always answers 0)
 *   ALLOW      under `onStoreFailure: 'allow'`: a slot nobody counts
 */
import { CURRENT_PERMIT } from '@breakwater/core/engine';

/** Probe lease numbers are 1 .. MAX_LEASE (the script draws them; see `breaker.lua`). */
export const LEASE_SPAN = 2 ** 21;
export const MAX_LEASE = LEASE_SPAN - 1;
const LOCAL_BASE = 2 ** 52;
const LOCAL_EPOCH = 2 ** 32;

/** A permit (breaker) or lease (bulkhead) handed out under `onStoreFailure: 'allow'`: nothing to give back. */
export const ALLOW_PERMIT = 2 ** 53 - 2;

// ------------------------------------------------------------------ breaker permits

/** A permit of the shared state: granted in `generation`, holding probe lease `lease` (0: none). */
export function sharedPermit(generation: number, lease: number): number {
  return generation * LEASE_SPAN + lease;
}

/**
 * The script's answer to an acquire: `[generation, lease]` (granted) or `[DENIED_*]`. Throws for
 * anything else (a reply this version cannot read fails its batch).
 */
export function permitOfReply(reply: unknown): number {
  if (Array.isArray(reply) && reply.every(Number.isInteger)) {
    const [first, lease] = reply as number[];
    if (reply.length === 1 && first !== undefined) return first;
    if (reply.length === 2 && first !== undefined && lease !== undefined) return sharedPermit(first, lease);
  }
  throw new Error(`an acquire answered ${JSON.stringify(reply)}`);
}

/** True for a permit the script granted (or CURRENT_PERMIT): its outcome goes to Redis. */
export function isSharedPermit(permit: number): boolean {
  return permit < LOCAL_BASE;
}

/** The generation a shared permit was granted in (CURRENT_PERMIT for CURRENT_PERMIT). */
export function generationOf(permit: number): number {
  return permit === CURRENT_PERMIT ? CURRENT_PERMIT : Math.floor(permit / LEASE_SPAN);
}

/** The probe lease a shared permit holds (0: none). */
export function leaseOf(permit: number): number {
  return permit === CURRENT_PERMIT ? 0 : permit % LEASE_SPAN;
}

/** A permit of the in-process fallback, granted in fallback episode `epoch`. */
export function localPermit(epoch: number, permit: number): number {
  return LOCAL_BASE + epoch * LOCAL_EPOCH + permit;
}

/** The fallback episode a local permit was granted in (not for ALLOW_PERMIT). */
export function epochOf(permit: number): number {
  return Math.floor((permit - LOCAL_BASE) / LOCAL_EPOCH);
}

/** The fallback engine's own permit inside a local one, if it was granted in `epoch` (undefined: another episode's, or ALLOW_PERMIT). */
export function fallbackPermitOf(permit: number, epoch: number): number | undefined {
  if (permit === ALLOW_PERMIT || epochOf(permit) !== epoch) return undefined;
  return (permit - LOCAL_BASE) % LOCAL_EPOCH;
}

// ------------------------------------------------------------------ bulkhead leases

/** The fallback engine's slot. */
export const LOCAL_LEASE = 0;

/** The lease after `previous`: 1 .. 2^52, never LOCAL_LEASE nor ALLOW_PERMIT; a wrap takes longer than any lease. */
export function nextLease(previous: number): number {
  return previous >= 2 ** 52 ? 1 : previous + 1;
}

/** A lease's member in the bulkhead's sorted set. */
export function leaseMember(prefix: string, lease: number): string {
  return prefix + lease.toString(36);
}

// ------------------------------------------------------------------ rate limiter refusals

/** A refused acquire that may be retried in `retryAfterMs` (at least 1 ms, whole ms). */
export function refusedFor(retryAfterMs: number): number {
  return -Math.max(1, Math.ceil(retryAfterMs));
}
