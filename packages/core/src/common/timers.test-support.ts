/**
 * Timers in the policy tests (bulkhead, rate limiter): fake timers the policy's clock follows, and
 * the live timer count. Not a test file itself.
 */
import { afterEach, beforeEach, vi } from 'vitest';
import type { Clock } from './clock.js';

/** Under vi.useFakeTimers, Date.now() moves with the timers: the policy's clock and its waits agree. */
export const fakeTimersClock: Clock = { now: () => Date.now() };

/** For the calling file or describe block: fake timers from `now` in each test, real ones after it. */
export function fakeTimersForEachTest(now = 0): void {
  beforeEach(() => {
    vi.useFakeTimers({ now });
  });
  realTimersAfterEach();
}

/** For the calling file or describe block: real timers after each test, even one that failed on fake ones. */
export function realTimersAfterEach(): void {
  afterEach(() => {
    vi.useRealTimers();
  });
}

/** Timers alive in this process: a waiting caller keeps one, which must go when it stops waiting. */
export function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
