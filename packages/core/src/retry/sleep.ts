import { MAX_TIMER_DELAY_MS } from '../common/timers.js';

/** Waits `ms`; rejects with `signal.reason` as soon as `signal` aborts. Inject one to drive waits in tests. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/**
 * The default Sleep: one timer, which keeps the process alive while a caller awaits it (a one-shot
 * script must not exit in the middle of its backoff), cleared when the signal aborts, and no
 * listener left on the signal once it settles.
 */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(Math.max(0, ms), MAX_TIMER_DELAY_MS),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
