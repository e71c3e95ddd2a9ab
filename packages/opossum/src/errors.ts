/** The codes opossum gives its own errors, which `CircuitBreaker.isOurError` recognizes. */
export type OpossumErrorCode = 'EOPENBREAKER' | 'ETIMEDOUT' | 'ESEMLOCKED' | 'ESHUTDOWN';

/**
 * An error the breaker made itself (not one of the action's), with opossum's `code` and message.
 * Its `name` stays `'Error'`, as opossum's plain errors have it, so that logs read the same after
 * a migration; `cause` holds the Breakwater error behind it when there is one (for example the
 * `CallNotPermittedError` of an open breaker, with the Breakwater state that refused the call).
 */
export class OpossumError extends Error {
  readonly code: OpossumErrorCode;

  constructor(message: string, code: OpossumErrorCode, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

/** True for the errors the breaker made itself; false for the action's own errors, and for non-errors. */
export function isOurError(error: unknown): boolean {
  return error instanceof OpossumError;
}

export function openBreakerError(cause: unknown): OpossumError {
  return new OpossumError('Breaker is open', 'EOPENBREAKER', cause);
}

export function timeoutError(timeoutMs: number, cause: unknown): OpossumError {
  return new OpossumError(`Timed out after ${timeoutMs}ms`, 'ETIMEDOUT', cause);
}

export function semaphoreLockedError(cause: unknown): OpossumError {
  return new OpossumError('Semaphore locked', 'ESEMLOCKED', cause);
}

export function shutdownError(): OpossumError {
  return new OpossumError('The circuit has been shutdown.', 'ESHUTDOWN');
}
