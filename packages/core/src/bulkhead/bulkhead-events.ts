interface BulkheadEventBase {
  readonly kind: 'bulkhead';
  /** The bulkhead's name. */
  readonly name: string;
  /** Epoch ms. */
  readonly at: number;
}

/** A call got a slot and starts. */
export interface BulkheadCallPermittedEvent extends BulkheadEventBase {
  readonly type: 'CALL_PERMITTED';
}

/**
 * A call got no slot: the bulkhead was full and it could not wait (`'FULL'`), its wait ran
 * out (`'TIMEOUT'`), or its caller aborted while it waited (`'ABORTED'`).
 */
export interface BulkheadCallRejectedEvent extends BulkheadEventBase {
  readonly type: 'CALL_REJECTED';
  readonly reason: 'FULL' | 'TIMEOUT' | 'ABORTED';
}

/** A permitted call settled and gave its slot back. */
export interface BulkheadCallFinishedEvent extends BulkheadEventBase {
  readonly type: 'CALL_FINISHED';
}

export type BulkheadEvent =
  | BulkheadCallPermittedEvent
  | BulkheadCallRejectedEvent
  | BulkheadCallFinishedEvent;

export type BulkheadEventType = BulkheadEvent['type'];
