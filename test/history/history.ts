/**
 * The shape of a fleet history: what the workers log (every admission, outcome and observed
 * state, timed on Redis's clock) and what the offline checker (`checker.ts`) reads. Plain data,
 * JSON all the way: workers send it over their stdout, the unit tests write it by hand.
 *
 * Times are epoch milliseconds on Redis's clock (`TIME`), as floats: each worker reads its own
 * monotonic clock and adds an offset it calibrated against Redis `TIME` (see `redis-clock.ts`);
 * `History.toleranceMs` bounds the error of any such reading.
 */

/**
 * Which engine granted a permit: Redis (the shared state: only these count toward fleet-wide
 * limits), the store's in-process fallback (`onStoreFailure: 'local'`, per process by design), an
 * `'allow'` token, or `'unknown'` when the worker could not tell (such permits are left out of the
 * fleet-wide counts, which can hide a violation but never invent one).
 */
export type PermitSource = 'redis' | 'local' | 'allow' | 'unknown';

/** A breaker permit from the moment the engine granted it to the moment its call was over. */
export interface BreakerPermit {
  readonly name: string;
  readonly worker: number;
  readonly source: PermitSource;
  /** When the caller asked (`engine.acquire`). */
  readonly calledAt: number;
  /** When the grant reached the caller. */
  readonly grantedAt: number;
  /** When the call was over (its outcome recorded, or the permit released); absent: never. */
  readonly endedAt?: number;
  /** How it was over: the outcome the caller's call had, or the permit given back unused. */
  readonly ending?: 'success' | 'failure' | 'released';
}

/** A rate-limiter acquire that was granted (`waitMs >= 0`): its permits go after `waitMs`. */
export interface RateGrant {
  readonly name: string;
  readonly worker: number;
  readonly source: PermitSource;
  readonly calledAt: number;
  /** When the answer reached the caller. */
  readonly resolvedAt: number;
  readonly permits: number;
  /** The engine's answer: the wait in ms before the permits may be used (0: at once). */
  readonly waitMs: number;
}

/** A bulkhead slot from its grant to its release (slots handed between callers in one process stay one lease). */
export interface SlotLease {
  readonly name: string;
  readonly worker: number;
  readonly source: PermitSource;
  readonly calledAt: number;
  readonly grantedAt: number;
  readonly releasedAt?: number;
}

/** One worker's count of a ledger breaker's outcomes. */
export interface LedgerCount {
  readonly name: string;
  readonly worker: number;
  /** Outcomes its callers saw (successes and failures of permitted calls). */
  readonly observed: number;
  /** The sum of `count` over the `OUTCOMES_DROPPED` store events for this breaker. */
  readonly dropped: number;
}

/** A transition made in Redis (published by the breaker script on the fleet channel). */
export interface FleetTransition {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** Redis time of the transition (the script's `now`, whole ms). */
  readonly at: number;
  /** For a transition to OPEN: when the open wait ends (Redis time). */
  readonly until: number;
}

/** A breaker state a worker read (`getState()`), for the record. */
export interface ObservedState {
  readonly name: string;
  readonly worker: number;
  readonly calledAt: number;
  readonly resolvedAt: number;
  readonly state: string;
}

/** The policies of a run, with what the invariants need of their configuration. */
export interface HistoryPolicies {
  /** Breakers that every call fails: once opened, Redis never closes them, so each Redis permit is a half-open probe. */
  readonly probeBreakers: readonly {
    readonly name: string;
    readonly permitted: number;
    readonly leaseMs: number;
  }[];
  /** Breakers that trip and recover with the workload. */
  readonly tripBreakers: readonly { readonly name: string }[];
  /** Breakers that never transition: their shared window must account for every outcome. */
  readonly ledgerBreakers: readonly { readonly name: string }[];
  readonly rateLimiters: readonly {
    readonly name: string;
    readonly algorithm: 'fixed-window' | 'gcra';
    readonly limitForPeriod: number;
    readonly limitRefreshPeriod: number;
  }[];
  readonly bulkheads: readonly { readonly name: string; readonly maxConcurrentCalls: number }[];
}

export interface History {
  readonly seed: number;
  /** Redis time when the workers started (messages give times relative to it). */
  readonly startedAt: number;
  /** Largest error of any time in the history (clock calibration, Redis's whole-ms `now`). */
  readonly toleranceMs: number;
  /**
   * A process whose call starts this long after a trip (Redis time) and goes through Redis must be
   * refused until the open wait ends.
   */
  readonly tripBoundMs: number;
  readonly policies: HistoryPolicies;
  readonly permits: readonly BreakerPermit[];
  readonly rateGrants: readonly RateGrant[];
  readonly leases: readonly SlotLease[];
  readonly ledger: readonly LedgerCount[];
  /** Each ledger breaker's `numberOfBufferedCalls`, read through a fresh store after the run. */
  readonly buffered: readonly { readonly name: string; readonly buffered: number }[];
  readonly transitions: readonly FleetTransition[];
  readonly observedStates: readonly ObservedState[];
}

export type InvariantName =
  | 'half-open-probes'
  | 'probe-breaker-closed'
  | 'rate-limit'
  | 'bulkhead-concurrency'
  | 'outcomes-accounted'
  | 'trip-seen';

export interface Violation {
  readonly invariant: InvariantName;
  readonly policy: string;
  /** Redis time of the violation, when it has one. */
  readonly at?: number;
  readonly message: string;
}
