/**
 * A signal that never aborts: handed to suppliers when the caller gave none, at no per-call
 * cost. It is shared by every call, so listeners added to it are dropped: they could never
 * fire, and keeping them would leak memory one call at a time.
 */
export const NEVER_ABORTED: AbortSignal = createNeverAborted();

function createNeverAborted(): AbortSignal {
  const signal = new AbortController().signal;
  Object.defineProperty(signal, 'addEventListener', { value: () => {}, enumerable: false });
  Object.defineProperty(signal, 'onabort', { get: () => null, set: () => {}, enumerable: false });
  return signal;
}
