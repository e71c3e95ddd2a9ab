/** How a failed call counts in the breaker's window. */
export const Verdict = Object.freeze({ Failure: 0, Success: 1, Ignored: 2 } as const);
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** What ended a failed call: the action's error, the time limit, or a full `capacity`. */
export type FailureKind = 'error' | 'timeout' | 'semaphore';

/**
 * A failed call, judged: the error the caller gets (opossum's ETIMEDOUT or ESEMLOCKED error for
 * the breaker's own failures), what ended the call, whether `errorFilter` excused it, and how it
 * counts. On the path through Breakwater's `execute` it travels as the rejection, so that the
 * breaker's classification (see `breakwaterConfig`) reads the verdict off it.
 */
export class CallOutcome {
  constructor(
    readonly error: unknown,
    readonly kind: FailureKind,
    readonly filtered: boolean,
    readonly verdict: Verdict,
  ) {}
}
