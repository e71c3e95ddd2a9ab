import { ConfigError } from './errors.js';
import { policySubject } from './policy-name.js';
import type { PolicyKind } from './types.js';

/** A source of wall-clock time in epoch milliseconds; inject one to drive time by hand in tests. */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({ now: Date.now });

/** A clock that only moves when told to: for tests and simulations. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}
  now(): number {
    return this.current;
  }
  /** Moves time forward by `ms` (never backwards). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.current += ms;
  }
  set(epochMs: number): void {
    this.current = epochMs;
  }
}

/** A policy's `clock` option: the clock given, checked, or the system clock. */
export function clockOption(clock: unknown, kind: PolicyKind, name: string): Clock {
  if (clock === undefined) return systemClock;
  if (typeof (clock as Partial<Clock> | null)?.now !== 'function') {
    throw new ConfigError(`${policySubject(kind, name)} options`, {
      field: 'clock',
      value: clock,
      allowed: 'an object with a now() method returning epoch milliseconds',
      policy: { kind, name },
    });
  }
  return clock as Clock;
}
