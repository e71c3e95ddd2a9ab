/**
 * A value, or a promise of it: what a user's function returns, and what a store engine answers
 * (at once in-process, with a promise when the truth is remote).
 */
export type MaybePromise<T> = T | PromiseLike<T>;

/**
 * A function protected by a policy. It receives an AbortSignal that fires when the caller, or an
 * enclosing time limit, aborts.
 */
export type Supplier<T> = (signal: AbortSignal) => MaybePromise<T>;

/** Which policy: the `kind` of its events, of the policy itself and of its errors (`policyKind`). */
export type PolicyKind = 'circuitbreaker' | 'retry' | 'ratelimiter' | 'timelimiter' | 'bulkhead';

/** True for a promise or any other thenable, which is how a MaybePromise tells its two cases apart. */
export function isPromiseLike<T>(value: MaybePromise<T>): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<T>).then === 'function'
  );
}
