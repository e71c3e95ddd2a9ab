import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.js';
import { IntervalFunction } from './interval-function.js';

/** A random source that replays `values` in a loop. */
function replay(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const attempts = fc.integer({ min: 1, max: 200 });
const unitRandom = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('IntervalFunction.of', () => {
  it('returns the same wait for every attempt', () => {
    const f = IntervalFunction.of(250);
    expect([1, 2, 3, 10].map(f)).toEqual([250, 250, 250, 250]);
  });

  it('accepts 0 (retry at once) and rejects negative or non-finite waits', () => {
    expect(IntervalFunction.of(0)(1)).toBe(0);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      expect(() => IntervalFunction.of(bad as number)).toThrow(ConfigError);
    }
  });

  it('ofDefaults waits 500 ms like Resilience4j', () => {
    expect(IntervalFunction.ofDefaults()(3)).toBe(500);
    expect(IntervalFunction.DEFAULT_INITIAL_INTERVAL).toBe(500);
    expect(IntervalFunction.DEFAULT_MULTIPLIER).toBe(1.5);
    expect(IntervalFunction.DEFAULT_RANDOMIZATION_FACTOR).toBe(0.5);
  });

  it('rejects attempts that are not integers >= 1', () => {
    const f = IntervalFunction.of(10);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => f(bad)).toThrow(RangeError);
  });
});

describe('IntervalFunction.ofExponentialBackoff', () => {
  it('multiplies the wait by the multiplier per attempt', () => {
    const f = IntervalFunction.ofExponentialBackoff(100, 2);
    expect([1, 2, 3, 4].map(f)).toEqual([100, 200, 400, 800]);
  });

  it('uses the default multiplier 1.5', () => {
    const f = IntervalFunction.ofExponentialBackoff(100);
    expect([1, 2, 3].map(f)).toEqual([100, 150, 225]);
    expect(IntervalFunction.ofExponentialBackoff()(1)).toBe(500);
  });

  it('caps at maxMs', () => {
    const f = IntervalFunction.ofExponentialBackoff(100, 2, 300);
    expect([1, 2, 3, 4, 50, 5000].map(f)).toEqual([100, 200, 300, 300, 300, 300]);
  });

  it('validates its arguments, naming the bad one', () => {
    expect(() => IntervalFunction.ofExponentialBackoff(0, 2)).toThrow(/initialMs/);
    expect(() => IntervalFunction.ofExponentialBackoff(100, 0.5)).toThrow(/multiplier/);
    expect(() => IntervalFunction.ofExponentialBackoff(100, 2, 50)).toThrow(/maxMs/);
    expect(() => IntervalFunction.ofExponentialBackoff(100, 2, Number.NaN)).toThrow(ConfigError);
  });

  it('property: within [initialMs, maxMs] and non-decreasing in the attempt', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e6, noNaN: true }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        attempts,
        (initial, multiplier, extra, attempt) => {
          const max = initial + extra;
          const f = IntervalFunction.ofExponentialBackoff(initial, multiplier, max);
          const now = f(attempt);
          const next = f(attempt + 1);
          expect(now).toBeGreaterThanOrEqual(initial);
          expect(now).toBeLessThanOrEqual(max);
          expect(next).toBeGreaterThanOrEqual(now);
        },
      ),
    );
  });
});

describe('IntervalFunction.ofRandomized', () => {
  it('spreads the wait over [ms * (1 - factor), ms * (1 + factor)]', () => {
    const f = IntervalFunction.ofRandomized(1000, 0.2, replay(0, 0.5, 0.999999));
    expect(f(1)).toBe(800);
    expect(f(1)).toBe(1000);
    expect(f(1)).toBeCloseTo(1200, 2);
  });

  it('uses the default factor 0.5', () => {
    const f = IntervalFunction.ofRandomized(1000, undefined, replay(0));
    expect(f(1)).toBe(500);
  });

  it('factor 0 is a constant wait', () => {
    const f = IntervalFunction.ofRandomized(300, 0, Math.random);
    expect(f(1)).toBe(300);
  });

  it('validates its arguments', () => {
    expect(() => IntervalFunction.ofRandomized(100, 1)).toThrow(/randomizationFactor/);
    expect(() => IntervalFunction.ofRandomized(100, -0.1)).toThrow(/randomizationFactor/);
    expect(() => IntervalFunction.ofRandomized(-5)).toThrow(/ms/);
    expect(() => IntervalFunction.ofRandomized(100, 0.5, 3 as unknown as () => number)).toThrow(/random/);
  });

  it('keeps a misbehaving random source within bounds', () => {
    const f = IntervalFunction.ofRandomized(100, 0.5, replay(-3, 7, Number.NaN));
    expect([f(1), f(1), f(1)]).toEqual([50, 150, 50]);
  });

  it('property: always within its bounds', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        unitRandom,
        attempts,
        (ms, factor, u, attempt) => {
          const wait = IntervalFunction.ofRandomized(ms, factor, () => u)(attempt);
          expect(wait).toBeGreaterThanOrEqual(ms * (1 - factor) - 1e-9);
          expect(wait).toBeLessThanOrEqual(ms * (1 + factor) + 1e-9);
        },
      ),
    );
  });
});

describe('IntervalFunction.ofExponentialRandomBackoff', () => {
  it('randomizes each exponential step', () => {
    const f = IntervalFunction.ofExponentialRandomBackoff(100, 2, 0.5, undefined, replay(0));
    expect([1, 2, 3].map(f)).toEqual([50, 100, 200]);
  });

  it('never exceeds maxMs, even after randomization', () => {
    const f = IntervalFunction.ofExponentialRandomBackoff(100, 2, 0.5, 300, replay(0.999));
    expect(f(1)).toBeCloseTo(149.9, 5);
    expect(f(2)).toBeCloseTo(299.8, 5);
    expect(f(3)).toBe(300);
    expect(f(10)).toBe(300);
  });

  it('has the Resilience4j defaults', () => {
    const f = IntervalFunction.ofExponentialRandomBackoff(
      undefined,
      undefined,
      undefined,
      undefined,
      replay(0.5),
    );
    expect([1, 2].map(f)).toEqual([500, 750]);
  });

  it('validates its arguments', () => {
    expect(() => IntervalFunction.ofExponentialRandomBackoff(100, 2, 1.5)).toThrow(/randomizationFactor/);
    expect(() => IntervalFunction.ofExponentialRandomBackoff(100, 0)).toThrow(/multiplier/);
    expect(() => IntervalFunction.ofExponentialRandomBackoff(100, 2, 0.5, 10)).toThrow(/maxMs/);
  });

  it('property: within [base * (1 - f), base * (1 + f)] capped at maxMs', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e4, noNaN: true }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        unitRandom,
        fc.integer({ min: 1, max: 60 }),
        (initial, multiplier, factor, extra, u, attempt) => {
          const max = initial + extra;
          const f = IntervalFunction.ofExponentialRandomBackoff(initial, multiplier, factor, max, () => u);
          const base = initial * multiplier ** (attempt - 1);
          const wait = f(attempt);
          expect(wait).toBeLessThanOrEqual(max);
          expect(wait).toBeGreaterThanOrEqual(Math.min(base * (1 - factor), max));
          expect(wait).toBeLessThanOrEqual(base * (1 + factor) * (1 + 1e-12));
        },
      ),
    );
  });
});

describe('IntervalFunction.ofDecorrelatedJitter', () => {
  it('draws each wait from [base, previous * 3], capped', () => {
    // u = 1 gives the top of the range each time: 3x growth until the cap.
    const f = IntervalFunction.ofDecorrelatedJitter(100, 2000, () => 1);
    expect([1, 2, 3, 4].map(f)).toEqual([300, 900, 2000, 2000]);
    // u = 0 gives the bottom: the base.
    const g = IntervalFunction.ofDecorrelatedJitter(100, 2000, () => 0);
    expect([1, 2, 3].map(g)).toEqual([100, 100, 100]);
  });

  it('continues its sequence only when the attempt follows the previous one', () => {
    const f = IntervalFunction.ofDecorrelatedJitter(10, 1000, replay(0.5));
    // 10 + 0.5 * (30 - 10) = 20; 10 + 0.5 * (60 - 10) = 35; ...
    expect([f(1), f(2), f(3)]).toEqual([20, 35, 57.5]);
    // Attempt 1 again starts over.
    expect(f(1)).toBe(20);
    // A jump replays the sequence from the start: attempt 3 directly equals attempt 3 of a sequence.
    expect(f(3)).toBe(57.5);
  });

  it('newSequence gives independent sequences', () => {
    const f = IntervalFunction.ofDecorrelatedJitter(10, 1000, replay(1));
    const a = f.newSequence!();
    const b = f.newSequence!();
    expect(a(1)).toBe(30);
    expect(b(1)).toBe(30);
    expect(a(2)).toBe(90);
    expect(b(2)).toBe(90);
  });

  it('validates its arguments', () => {
    expect(() => IntervalFunction.ofDecorrelatedJitter(0, 100)).toThrow(/baseMs/);
    expect(() => IntervalFunction.ofDecorrelatedJitter(100, 50)).toThrow(/capMs/);
    expect(() => IntervalFunction.ofDecorrelatedJitter(100, Number.POSITIVE_INFINITY)).toThrow(/capMs/);
  });

  it('property: every wait of any sequence is within [base, cap]', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 1e4, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.array(unitRandom, { minLength: 1, maxLength: 20 }),
        fc.array(attempts, { minLength: 1, maxLength: 30 }),
        (base, extra, randoms, calls) => {
          const cap = base + extra;
          const f = IntervalFunction.ofDecorrelatedJitter(base, cap, replay(...randoms));
          for (const attempt of calls) {
            const wait = f(attempt);
            expect(wait).toBeGreaterThanOrEqual(base);
            expect(wait).toBeLessThanOrEqual(cap);
          }
        },
      ),
    );
  });
});
