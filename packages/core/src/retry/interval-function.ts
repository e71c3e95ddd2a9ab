import { ConfigError } from '../common/errors.js';

/**
 * Milliseconds to wait after attempt number `attempt` (1-based) failed, before the next one.
 * Used by Retry (`intervalFunction`) and the circuit breaker (`waitIntervalFunctionInOpenState`).
 */
export interface IntervalFunction {
  (attempt: number): number;
  /**
   * Present on stateful functions (decorrelated jitter): returns a copy whose state belongs to one
   * sequence of attempts. Retry asks for one per call, so concurrent calls do not share state.
   */
  readonly newSequence?: () => (attempt: number) => number;
}

/** Uniform random numbers in [0, 1), like `Math.random`; inject a seeded one in tests. */
export type RandomSource = () => number;

const DEFAULT_INITIAL_INTERVAL = 500;
const DEFAULT_MULTIPLIER = 1.5;
const DEFAULT_RANDOMIZATION_FACTOR = 0.5;
/** Steps replayed when a decorrelated sequence restarts at a late attempt; the walk forgets its start long before. */
const MAX_REPLAYED_STEPS = 64;

/** A constant wait. */
function of(ms: number): IntervalFunction {
  check('of', 'ms', ms, ms >= 0, 'a finite number >= 0');
  return (attempt) => {
    checkAttempt(attempt);
    return ms;
  };
}

/** Resilience4j's default: a constant 500 ms. */
function ofDefaults(): IntervalFunction {
  return of(DEFAULT_INITIAL_INTERVAL);
}

/** `initialMs * multiplier^(attempt - 1)`, capped at `maxMs`. */
function ofExponentialBackoff(
  initialMs: number = DEFAULT_INITIAL_INTERVAL,
  multiplier: number = DEFAULT_MULTIPLIER,
  maxMs: number = Number.POSITIVE_INFINITY,
): IntervalFunction {
  const at = 'ofExponentialBackoff';
  checkInitial(at, initialMs);
  checkMultiplier(at, multiplier);
  checkMax(at, maxMs, initialMs);
  return (attempt) => {
    checkAttempt(attempt);
    return Math.min(initialMs * multiplier ** (attempt - 1), maxMs);
  };
}

/** `ms` spread uniformly over `[ms * (1 - factor), ms * (1 + factor)]`. */
function ofRandomized(
  ms: number = DEFAULT_INITIAL_INTERVAL,
  randomizationFactor: number = DEFAULT_RANDOMIZATION_FACTOR,
  random: RandomSource = Math.random,
): IntervalFunction {
  const at = 'ofRandomized';
  check(at, 'ms', ms, ms >= 0, 'a finite number >= 0');
  checkFactor(at, randomizationFactor);
  checkRandom(at, random);
  return (attempt) => {
    checkAttempt(attempt);
    return randomize(ms, randomizationFactor, random);
  };
}

/**
 * Exponential backoff with each wait spread by `randomizationFactor`; the spread value is capped
 * at `maxMs` (as in Resilience4j), so no wait ever exceeds it.
 */
function ofExponentialRandomBackoff(
  initialMs: number = DEFAULT_INITIAL_INTERVAL,
  multiplier: number = DEFAULT_MULTIPLIER,
  randomizationFactor: number = DEFAULT_RANDOMIZATION_FACTOR,
  maxMs: number = Number.POSITIVE_INFINITY,
  random: RandomSource = Math.random,
): IntervalFunction {
  const at = 'ofExponentialRandomBackoff';
  checkInitial(at, initialMs);
  checkMultiplier(at, multiplier);
  checkFactor(at, randomizationFactor);
  checkMax(at, maxMs, initialMs);
  checkRandom(at, random);
  return (attempt) => {
    checkAttempt(attempt);
    return Math.min(randomize(initialMs * multiplier ** (attempt - 1), randomizationFactor, random), maxMs);
  };
}

/**
 * AWS's "decorrelated jitter": `wait = min(capMs, uniform(baseMs, previous * 3))`, starting from
 * `previous = baseMs`. Each wait depends on the one before, so the function keeps the state of one
 * sequence: attempt n continues the sequence when the previous call was for attempt n - 1, and any
 * other attempt (1 in particular) starts a new one. Retry takes a fresh sequence per call through
 * `newSequence`, so concurrent calls never interleave.
 */
function ofDecorrelatedJitter(
  baseMs: number,
  capMs: number,
  random: RandomSource = Math.random,
): IntervalFunction {
  const at = 'ofDecorrelatedJitter';
  check(at, 'baseMs', baseMs, baseMs > 0, 'a finite number > 0');
  check(at, 'capMs', capMs, capMs >= baseMs, `a finite number >= baseMs (${baseMs})`);
  checkRandom(at, random);
  const sequence = (): ((attempt: number) => number) => {
    let lastAttempt = 0;
    let last = baseMs;
    const step = () => {
      last = Math.min(capMs, baseMs + unit(random) * (last * 3 - baseMs));
    };
    return (attempt) => {
      checkAttempt(attempt);
      if (attempt !== lastAttempt + 1) {
        last = baseMs;
        for (let i = Math.min(attempt, MAX_REPLAYED_STEPS); i > 1; i--) step();
      }
      step();
      lastAttempt = attempt;
      return last;
    };
  };
  const shared = sequence();
  const fn = (attempt: number) => shared(attempt);
  return Object.assign(fn, { newSequence: sequence });
}

/**
 * Factories of interval functions, with Resilience4j's defaults (500 ms, multiplier 1.5,
 * randomization factor 0.5). Arguments are validated when the function is built (ConfigError);
 * the returned function throws a RangeError for an attempt that is not an integer >= 1.
 */
export const IntervalFunction = Object.freeze({
  DEFAULT_INITIAL_INTERVAL,
  DEFAULT_MULTIPLIER,
  DEFAULT_RANDOMIZATION_FACTOR,
  of,
  ofDefaults,
  ofExponentialBackoff,
  ofRandomized,
  ofExponentialRandomBackoff,
  ofDecorrelatedJitter,
});

function randomize(ms: number, factor: number, random: RandomSource): number {
  // low + non-negative, never ms - delta + ...: the subtraction would lose precision near factor 1.
  const low = ms * (1 - factor);
  return low + unit(random) * (ms * (1 + factor) - low);
}

/** A random source that strays out of [0, 1] must not push a wait out of its bounds. */
function unit(random: RandomSource): number {
  const u = random();
  return u >= 0 ? Math.min(u, 1) : 0; // NaN fails u >= 0
}

function checkAttempt(attempt: number): void {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`IntervalFunction: attempt must be an integer >= 1, got ${String(attempt)}`);
  }
}

function check(at: string, field: string, value: unknown, ok: boolean, allowed: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok) {
    throw new ConfigError(`IntervalFunction.${at}`, { field, value, allowed });
  }
}

function checkInitial(at: string, initialMs: number): void {
  check(at, 'initialMs', initialMs, initialMs > 0, 'a finite number > 0');
}

function checkMultiplier(at: string, multiplier: number): void {
  check(at, 'multiplier', multiplier, multiplier >= 1, 'a finite number >= 1');
}

function checkFactor(at: string, factor: number): void {
  check(at, 'randomizationFactor', factor, factor >= 0 && factor < 1, 'a number in [0, 1)');
}

function checkMax(at: string, maxMs: number, initialMs: number): void {
  // Infinity is the "no cap" default; anything else must be a reachable cap.
  if (maxMs === Number.POSITIVE_INFINITY) return;
  check(at, 'maxMs', maxMs, maxMs >= initialMs, `a number >= initialMs (${initialMs}), or Infinity`);
}

function checkRandom(at: string, random: unknown): void {
  if (typeof random !== 'function') {
    throw new ConfigError(`IntervalFunction.${at}`, {
      field: 'random',
      value: random,
      allowed: 'a function returning numbers in [0, 1)',
    });
  }
}
