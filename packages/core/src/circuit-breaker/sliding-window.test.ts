/**
 * Both sliding windows against a naive recomputation: whatever the outcomes and the gaps
 * between them, the running totals always equal the sum over the last N outcomes (COUNT) or
 * over the outcomes of the last N seconds (TIME).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advanceTimeWindow,
  createCountWindow,
  createTimeWindow,
  failureRateOf,
  type Outcome,
  recordOutcome,
  type SlidingWindow,
  slowCallRateOf,
} from './sliding-window.js';

interface Totals {
  calls: number;
  failures: number;
  slow: number;
  slowFailures: number;
}

function naiveTotals(outcomes: readonly Outcome[]): Totals {
  const t = { calls: 0, failures: 0, slow: 0, slowFailures: 0 };
  for (const o of outcomes) {
    t.calls++;
    if (o & 1) t.failures++;
    if (o & 2) t.slow++;
    if ((o & 3) === 3) t.slowFailures++;
  }
  return t;
}

function expectMatches(w: SlidingWindow, expected: Totals): void {
  expect({ calls: w.calls, failures: w.failures, slow: w.slow, slowFailures: w.slowFailures }).toEqual(
    expected,
  );
  const below = expected.calls === 0 || expected.calls < w.minimumCalls;
  expect(failureRateOf(w)).toBe(below ? -1 : (expected.failures * 100) / expected.calls);
  expect(slowCallRateOf(w)).toBe(below ? -1 : (expected.slow * 100) / expected.calls);
}

const outcome = fc.constantFrom<Outcome>(0, 1, 2, 3);

const SECOND = 1000;
const TEN_YEARS = 10 * 365 * 24 * 3600 * SECOND;
/** Gaps between operations: mostly short, sometimes around the window size, sometimes enormous. */
const gap = (sizeSeconds: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 1500 }) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: sizeSeconds * SECOND * 2 }) },
    { weight: 1, arbitrary: fc.integer({ min: sizeSeconds * SECOND - 1, max: sizeSeconds * SECOND + 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: TEN_YEARS }) },
  );

describe('COUNT window', () => {
  it('totals equal the last N outcomes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 25 }),
        fc.array(outcome, { maxLength: 120 }),
        (size, minimumCalls, outcomes) => {
          const w = createCountWindow(size, minimumCalls);
          expectMatches(w, naiveTotals([]));
          const seen: Outcome[] = [];
          for (const o of outcomes) {
            recordOutcome(w, o, 0);
            seen.push(o);
            expectMatches(w, naiveTotals(seen.slice(-size)));
            expect(w.calls).toBeLessThanOrEqual(size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ignores the time it is given', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(outcome, fc.integer({ min: 0, max: TEN_YEARS })), { maxLength: 40 }),
        (ops) => {
          const w = createCountWindow(5, 1);
          const seen: Outcome[] = [];
          for (const [o, t] of ops) {
            recordOutcome(w, o, t);
            seen.push(o);
            expectMatches(w, naiveTotals(seen.slice(-5)));
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('survives a JSON round trip mid-stream', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(outcome, { maxLength: 30 }),
        fc.array(outcome, { maxLength: 30 }),
        (size, before, after) => {
          let w: SlidingWindow = createCountWindow(size, 1);
          for (const o of before) recordOutcome(w, o, 0);
          w = JSON.parse(JSON.stringify(w)) as SlidingWindow;
          for (const o of after) recordOutcome(w, o, 0);
          expectMatches(w, naiveTotals([...before, ...after].slice(-size)));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('TIME window', () => {
  type Op = { kind: 'record'; outcome: Outcome; gap: number } | { kind: 'read'; gap: number };

  const scenario = fc.integer({ min: 1, max: 12 }).chain((size) =>
    fc.record({
      size: fc.constant(size),
      minimumCalls: fc.integer({ min: 1, max: 10 }),
      // Epoch-like start times, not necessarily on a second boundary.
      start: fc.integer({ min: 0, max: 4_000_000_000_000 }),
      ops: fc.array(
        fc.oneof(
          {
            weight: 4,
            arbitrary: fc.record({ kind: fc.constant('record' as const), outcome, gap: gap(size) }),
          },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), gap: gap(size) }) },
        ),
        { maxLength: 80 },
      ),
    }),
  );

  it('totals equal the outcomes of the last N seconds, whatever the gaps', () => {
    fc.assert(
      fc.property(scenario, ({ size, minimumCalls, start, ops }) => {
        const w = createTimeWindow(size, minimumCalls, start);
        const log: { second: number; outcome: Outcome }[] = [];
        let now = start;
        const inWindow = () => {
          const current = Math.floor(now / SECOND);
          return log.filter((e) => e.second > current - size).map((e) => e.outcome);
        };
        for (const op of ops as Op[]) {
          now += op.gap;
          if (op.kind === 'record') {
            recordOutcome(w, op.outcome, now);
            log.push({ second: Math.floor(now / SECOND), outcome: op.outcome });
          } else {
            advanceTimeWindow(w, now); // what a read does: rates decay without calls
          }
          expectMatches(w, naiveTotals(inWindow()));
          // The per-second buckets add up to the running totals.
          expect(w.bucketCalls.reduce((a, b) => a + b, 0)).toBe(w.calls);
          expect(w.bucketFailures.reduce((a, b) => a + b, 0)).toBe(w.failures);
          expect(w.bucketSlow.reduce((a, b) => a + b, 0)).toBe(w.slow);
          expect(w.bucketSlowFailures.reduce((a, b) => a + b, 0)).toBe(w.slowFailures);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a call leaves the window exactly when its second does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        (size, msInSecond, startSecond) => {
          const at = startSecond * SECOND + msInSecond;
          const w = createTimeWindow(size, 1, at);
          recordOutcome(w, 1, at);
          advanceTimeWindow(w, (startSecond + size) * SECOND - 1);
          expect(w.calls).toBe(1);
          advanceTimeWindow(w, (startSecond + size) * SECOND);
          expect(w.calls).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a clock that steps back keeps counting into the newest bucket', () => {
    const w = createTimeWindow(10, 1, 100_000);
    recordOutcome(w, 1, 100_000);
    recordOutcome(w, 0, 95_000); // 5 s back
    expect(w.calls).toBe(2);
    advanceTimeWindow(w, 109_999);
    expect(w.calls).toBe(2);
    advanceTimeWindow(w, 110_000);
    expect(w.calls).toBe(0);
  });

  it('one read after a very long gap does not loop over the gap', () => {
    const w = createTimeWindow(86_400, 1, 0);
    recordOutcome(w, 1, 0);
    // A loop over the gap would run for years (and hit the test timeout); one pass is instant.
    advanceTimeWindow(w, Number.MAX_SAFE_INTEGER - 1);
    expect(w.calls).toBe(0);
    recordOutcome(w, 3, Number.MAX_SAFE_INTEGER - 1);
    expect(w).toMatchObject({ calls: 1, failures: 1, slow: 1, slowFailures: 1 });
  });
});
