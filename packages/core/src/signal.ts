/** A signal that never aborts: handed to suppliers when the caller gave none, at no per-call cost. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;
