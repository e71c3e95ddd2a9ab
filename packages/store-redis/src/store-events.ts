interface StoreEventBase {
  readonly kind: 'store';
  /** The store's key prefix. */
  readonly name: string;
  readonly at: number;
}

/** Redis stopped answering (an error, a timeout, or the connection is down): the failure policy applies. */
export interface StoreFailureEvent extends StoreEventBase {
  readonly type: 'STORE_FAILURE';
  readonly error: unknown;
  readonly policy: 'local' | 'allow' | 'deny';
}

/** Redis answers again: policies use the shared state again. */
export interface StoreRecoveredEvent extends StoreEventBase {
  readonly type: 'STORE_RECOVERED';
}

/** A policy's key held something that is not a valid state (written by hand?): the policy started afresh. */
export interface StoreStateResetEvent extends StoreEventBase {
  readonly type: 'STATE_RESET';
  readonly policy: string;
  readonly reason: string;
}

/**
 * Redis refused one policy's request with an error of its own (a script error, a wrong type...):
 * that request fell back to the failure policy, and the rest of the store carried on. At most one a
 * second per policy.
 */
export interface StorePolicyFailureEvent extends StoreEventBase {
  readonly type: 'POLICY_FAILURE';
  readonly policy: string;
  readonly error: unknown;
}

/**
 * Outcomes callers observed that will never reach the shared window, with why (`DropReason`):
 * e.g. a call that timed out and then lost its connection may or may not have been recorded, and
 * sending it again could count it twice.
 */
export interface StoreOutcomesDroppedEvent extends StoreEventBase {
  readonly type: 'OUTCOMES_DROPPED';
  readonly policy: string;
  readonly count: number;
  readonly reason: 'unknown' | 'rejected' | 'overflow' | 'allow' | 'no-shared-window' | 'closed';
}

export type StoreEvent =
  | StoreFailureEvent
  | StoreRecoveredEvent
  | StoreStateResetEvent
  | StorePolicyFailureEvent
  | StoreOutcomesDroppedEvent;

/** The fleet's messages: defined once, in `@breakwater/core/engine`, for the stores and the event streams. */
export type { FleetStoreFailureMessage, FleetTransitionMessage } from '@breakwater/core/engine';
