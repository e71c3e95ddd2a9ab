/**
 * Time in the compatibility suite (`*.test.ts` beside it): fake time from T0 (real again when the
 * test ends), the clock a breaker reads it through, and waits that work on fake or real time. Not
 * a test file itself.
 */
import { onTestFinished, vi } from 'vitest';

/** A whole second, so that the one-second buckets of the window are easy to reason about. */
export const T0 = 1_700_000_000_000;

/**
 * For tests on fake time: the breaker reads the (faked) Date through this clock. Breakwater's
 * default clock keeps the real Date.now, which fake timers do not replace.
 */
export const fakeClock = { now: () => Date.now() };

/** Fake setTimeout, setInterval, setImmediate and Date, starting at T0, until the test ends. */
export function useFakeTime(): void {
  vi.useFakeTimers({ now: T0 });
  onTestFinished(() => {
    vi.useRealTimers();
  });
}

/** Lets timers due by then, and the promise reactions they cause, run (fake or real time). */
export async function elapse(ms: number): Promise<void> {
  if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(ms);
  else await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One turn of the event loop: the events of timer-driven transitions go out on it. On fake time
 * it moves 1 ms (fake timers run an immediate set at the current time only when time moves).
 */
export async function nextTurn(): Promise<void> {
  if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(1);
  else await new Promise((resolve) => setImmediate(resolve));
}
