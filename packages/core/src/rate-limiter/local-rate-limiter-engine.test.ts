import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createLocalRateLimiterEngine,
  createRateLimiterCell,
  type RateLimiterCell,
} from './local-rate-limiter-engine.js';
import {
  type RateLimiterAlgorithm,
  type RateLimiterSettings,
  resolveRateLimiterConfig,
} from './rate-limiter-config.js';
import { rateLimiterStateProblem } from './rate-limiter-state.js';

function engineOf(config: Partial<RateLimiterSettings>, start = 0) {
  const settings = resolveRateLimiterConfig(config);
  let cell: RateLimiterCell | undefined;
  const engine = createLocalRateLimiterEngine(settings, (now) => {
    cell ??= createRateLimiterCell(settings, now);
    return cell;
  });
  engine.read(start);
  return { engine, cell: () => cell!, settings };
}

interface HandBack {
  readonly reserved: readonly [number, number];
  readonly now: number;
  readonly next: number;
  readonly timeout: number;
}

/**
 * Checks that `engine`, with one permit taken at 0, hands back only its latest reservation. Two
 * callers reserve at 0 (waits `reserved`, within `timeout`); giving back the first at `now` would put
 * a newcomer ahead of the second, so it lapses and the next caller waits `next`; that reservation
 * is the latest, so giving it back lets the caller after take its place.
 */
function expectOnlyTheLatestHandedBack(
  engine: ReturnType<typeof engineOf>['engine'],
  { reserved, now, next, timeout }: HandBack,
): void {
  engine.acquire(1, 0, 0);
  expect(engine.acquire(1, 0, timeout)).toBe(reserved[0]);
  expect(engine.acquire(1, 0, timeout)).toBe(reserved[1]);
  engine.release(1, reserved[0] - now, now);
  expect(engine.acquire(1, now, timeout)).toBe(next);
  engine.release(1, next, now);
  expect(engine.acquire(1, now, timeout)).toBe(next);
}

/**
 * One step of a scripted run: an acquire and the answer expected, or a give-back and what a read
 * answers right after it.
 */
type Step =
  | readonly ['acquire', permits: number, now: number, timeout: number, answer: number]
  | readonly ['giveBack', permits: number, dueAt: number, now: number, available: number];

/** Plays `steps` on a fresh engine of `config`. */
function play(config: Partial<RateLimiterSettings>, steps: readonly Step[]): void {
  const { engine } = engineOf(config);
  steps.forEach(([kind, permits, at, now, expected], i) => {
    if (kind === 'acquire') {
      expect(engine.acquire(permits, at, now), `step ${i}`).toBe(expected);
    } else {
      engine.giveBack(permits, at, now);
      expect(engine.read(now), `step ${i}`).toBe(expected);
    }
  });
}

describe('fixed-window engine', () => {
  it('grants limitForPeriod permits per epoch-aligned period, then reserves the next period', () => {
    const { engine } = engineOf({ limitForPeriod: 2, limitRefreshPeriod: 100 }, 1_000);
    expect(engine.acquire(1, 1_010, 0)).toBe(0);
    expect(engine.acquire(1, 1_020, 0)).toBe(0);
    // Next period starts at 1100: 80 ms away; rejected with a timeout below that, reserved within it.
    expect(engine.acquire(1, 1_020, 79)).toBe(-80);
    expect(engine.read(1_020)).toBe(0);
    expect(engine.acquire(1, 1_020, 80)).toBe(80);
    expect(engine.read(1_020)).toBe(-1);
    // The reservation counts against the next period.
    expect(engine.acquire(1, 1_100, 0)).toBe(0);
    expect(engine.acquire(1, 1_100, 0)).toBe(-100);
  });

  it('waits as many periods as the deficit needs, and unused permits do not carry over', () => {
    const { engine } = engineOf({ limitForPeriod: 3, limitRefreshPeriod: 10 }, 0);
    expect(engine.acquire(3, 0, 0)).toBe(0);
    expect(engine.acquire(3, 0, 100)).toBe(10);
    expect(engine.acquire(2, 0, 100)).toBe(20);
    expect(engine.read(0)).toBe(-5);
    // Idle for long: back to exactly the limit.
    expect(engine.read(1_000)).toBe(3);
  });

  it('keeps a waiting multi-permit request inside one period (Resilience4j would split it)', () => {
    const { engine } = engineOf({ limitForPeriod: 5, limitRefreshPeriod: 100 });
    expect(engine.acquire(2, 0, 0)).toBe(0);
    // 3 left now, 5 wanted: all 5 go in the next period, whose whole limit they use.
    expect(engine.acquire(5, 0, 1_000)).toBe(100);
    expect(engine.acquire(1, 100, 0)).toBe(-100);
    // A request that does not fit in the last reserved period's room starts the one after.
    expect(engine.acquire(1, 100, 1_000)).toBe(100);
    expect(engine.acquire(4, 100, 1_000)).toBe(100);
    expect(engine.acquire(2, 100, 1_000)).toBe(200);
  });

  it('drains what is left in the current period', () => {
    const { engine } = engineOf({ limitForPeriod: 5, limitRefreshPeriod: 100 });
    engine.acquire(2, 0, 0);
    expect(engine.drain(10)).toBe(3);
    expect(engine.drain(10)).toBe(0);
    expect(engine.acquire(1, 10, 0)).toBe(-90);
    expect(engine.read(100)).toBe(5);
  });

  it('hands back only a reservation of the last reserved period', () => {
    const { engine } = engineOf({ limitForPeriod: 1, limitRefreshPeriod: 100 });
    // The one due at 100 lapses (giving it back would put a newcomer on 200's place); the one due
    // at 300 is the last: handed back.
    expectOnlyTheLatestHandedBack(engine, { reserved: [100, 200], now: 0, next: 300, timeout: 1_000 });
  });

  it('gives back a reservation for a period that has not begun, but not one for a past period', () => {
    const { engine } = engineOf({ limitForPeriod: 1, limitRefreshPeriod: 100 });
    engine.acquire(1, 0, 0);
    expect(engine.acquire(1, 0, 1_000)).toBe(100);
    engine.release(1, 60, 40);
    expect(engine.read(40)).toBe(0);
    expect(engine.acquire(1, 50, 1_000)).toBe(50);
    // Too late: its period (100..200) is over, giving it back would add to 200..300.
    engine.release(1, 10, 250);
    expect(engine.read(250)).toBe(1);
  });

  it('gives back a late grant only in the cycle it was taken from, never onto debt nor above the limit', () => {
    play({ limitForPeriod: 2, limitRefreshPeriod: 100 }, [
      ['acquire', 2, 10, 0, 0],
      ['giveBack', 2, 10, 40, 2],
      // given back twice (or a grant it never made): still no more than the limit
      ['giveBack', 2, 10, 50, 2],
      // a grant of an earlier cycle is ignored: its cycle's budget is gone with it
      ['acquire', 2, 60, 0, 0],
      ['giveBack', 2, 60, 110, 2],
      ['acquire', 1, 120, 0, 0],
      ['giveBack', 2, 60, 130, 1],
      // reservations: one still ahead (due at 1100) is released, as the last reserved period's
      ['acquire', 2, 1_000, 0, 0],
      ['acquire', 2, 1_010, 1_000, 90],
      ['giveBack', 2, 1_100, 1_020, 0],
      // one gone by, given back in its own cycle: the whole limit is free again
      ['acquire', 1, 1_030, 1_000, 70],
      ['giveBack', 1, 1_100, 1_150, 2],
      // an immediate grant whose cycle lends to the next one: the debt stays
      ['acquire', 2, 1_150, 0, 0],
      ['acquire', 1, 1_150, 1_000, 50],
      ['giveBack', 2, 1_150, 1_160, -1],
      ['acquire', 2, 1_160, 1_000, 140],
    ]);
  });

  it('keeps freshAt at the start of the period from which the state equals a fresh one', () => {
    const { engine, cell } = engineOf({ limitForPeriod: 2, limitRefreshPeriod: 100 });
    engine.acquire(2, 0, 0);
    expect(cell().freshAt).toBe(100);
    engine.acquire(2, 0, 1_000);
    engine.acquire(1, 0, 1_000);
    expect(cell().freshAt).toBe(300);
  });
});

describe('gcra engine', () => {
  it('spaces single permits by limitRefreshPeriod / limitForPeriod', () => {
    const { engine } = engineOf({ algorithm: 'gcra', limitForPeriod: 4, limitRefreshPeriod: 100 });
    expect(engine.read(0)).toBe(4);
    expect(engine.acquire(1, 0, 0)).toBe(0);
    expect(engine.acquire(1, 0, 0)).toBe(-25);
    expect(engine.acquire(1, 0, 25)).toBe(25);
    expect(engine.acquire(1, 0, 100)).toBe(50);
    expect(engine.read(0)).toBe(-2);
    // The next free slot is at 75.
    expect(engine.acquire(1, 60, 0)).toBe(-15);
    expect(engine.acquire(1, 80, 0)).toBe(0);
  });

  it('admits a request of up to limitForPeriod permits at once when idle', () => {
    const { engine } = engineOf({ algorithm: 'gcra', limitForPeriod: 5, limitRefreshPeriod: 100 });
    expect(engine.acquire(5, 1_000, 0)).toBe(0);
    expect(engine.read(1_000)).toBe(-4);
    expect(engine.read(1_100)).toBe(1);
    expect(engine.read(1_180)).toBe(5);
  });

  it('spaces a request of n permits by (n-1) intervals before it and n after it', () => {
    const { engine } = engineOf({ algorithm: 'gcra', limitForPeriod: 5, limitRefreshPeriod: 100 });
    expect(engine.acquire(1, 1_000, 0)).toBe(0);
    // 4 more at once would make 5 within 1000..1080, fine; but they must follow the first by 20
    // and take 3 more intervals before them: conservative, exact for single permits.
    expect(engine.acquire(4, 1_000, 1_000)).toBe(80);
    expect(engine.acquire(1, 1_000, 1_000)).toBe(160);
  });

  it('rounds fractional intervals up, never down', () => {
    const { engine } = engineOf({ algorithm: 'gcra', limitForPeriod: 3, limitRefreshPeriod: 100 });
    expect(engine.acquire(1, 0, 0)).toBe(0);
    expect(engine.acquire(1, 0, 1_000)).toBe(34);
    expect(engine.acquire(1, 0, 1_000)).toBe(67);
    expect(engine.acquire(1, 0, 1_000)).toBe(100);
  });

  it('undoes only the latest reservation', () => {
    const { engine } = engineOf({ algorithm: 'gcra', limitForPeriod: 10, limitRefreshPeriod: 100 });
    // The slot due at 10, given back at 2, is not the latest: it lapses. The one due at 28 is.
    expectOnlyTheLatestHandedBack(engine, { reserved: [10, 20], now: 2, next: 28, timeout: 100 });
  });

  it('gives back only the latest grant, immediate or reserved, as far as it moved tat', () => {
    play({ algorithm: 'gcra', limitForPeriod: 4, limitRefreshPeriod: 100 }, [
      // T = 25: 3 at once at 1000 move tat to 1075 (-2 available at 1010)
      ['acquire', 3, 1_000, 0, 0],
      // back to 950: the 3 the grant took are free again at 1000 (a fresh limiter's 4th is not)
      ['giveBack', 3, 1_000, 1_010, 3],
      // given back twice: nothing more
      ['giveBack', 3, 1_000, 1_010, 3],
      ['acquire', 3, 1_010, 0, 0],
      ['acquire', 1, 1_010, 1_000, 75],
      // a reservation already gone by (0 available at 1100), still the latest grant: undone
      ['giveBack', 1, 1_085, 1_100, 1],
      ['acquire', 1, 2_000, 0, 0],
      ['acquire', 1, 2_030, 0, 0],
      // the one at 2000 lies behind the one at 2030: undoing it would free a slot still in use
      ['giveBack', 1, 2_000, 2_040, 0],
      ['giveBack', 1, 2_030, 2_040, 1],
    ]);
  });

  it('drains to zero: the next permit is one interval away', () => {
    const { engine } = engineOf({ algorithm: 'gcra', limitForPeriod: 4, limitRefreshPeriod: 100 });
    expect(engine.drain(0)).toBe(4);
    expect(engine.read(0)).toBe(0);
    expect(engine.acquire(1, 0, 0)).toBe(-25);
    expect(engine.drain(0)).toBe(0);
  });
});

describe('a cell shared by limiters of different algorithms', () => {
  it('restarts from a fresh state of the engine that uses it', () => {
    const fw = resolveRateLimiterConfig({ limitForPeriod: 2, limitRefreshPeriod: 100 });
    const gcra = resolveRateLimiterConfig({ algorithm: 'gcra', limitForPeriod: 2, limitRefreshPeriod: 100 });
    const cell = createRateLimiterCell(fw, 0);
    const a = createLocalRateLimiterEngine(fw, () => cell);
    const b = createLocalRateLimiterEngine(gcra, () => cell);
    a.acquire(2, 0, 0);
    expect(b.acquire(2, 0, 0)).toBe(0);
    expect(cell.state.algorithm).toBe('gcra');
    expect(a.read(0)).toBe(2);
  });
});

describe('rateLimiterStateProblem', () => {
  it('accepts good records and names what is wrong with bad ones', () => {
    const s = resolveRateLimiterConfig({ limitForPeriod: 2 });
    expect(
      rateLimiterStateProblem({ algorithm: 'fixed-window', cycle: 3, permissions: -1 }, s),
    ).toBeUndefined();
    expect(rateLimiterStateProblem({ algorithm: 'gcra', tat: 5 })).toBeUndefined();
    expect(rateLimiterStateProblem(null)).toMatch(/object/);
    expect(rateLimiterStateProblem({ algorithm: 'x' })).toMatch(/algorithm/);
    expect(rateLimiterStateProblem({ algorithm: 'gcra', tat: 5 }, s)).toMatch(/match/);
    expect(rateLimiterStateProblem({ algorithm: 'gcra', tat: null })).toMatch(/tat/);
    expect(rateLimiterStateProblem({ algorithm: 'fixed-window', cycle: 1.5, permissions: 0 })).toMatch(
      /cycle/,
    );
    expect(rateLimiterStateProblem({ algorithm: 'fixed-window', cycle: 1, permissions: 3 }, s)).toMatch(
      /exceed/,
    );
  });
});

// ---------------------------------------------------------------------------- properties

type Op =
  | { readonly kind: 'acquire'; readonly dt: number; readonly permits: number; readonly timeout: number }
  | { readonly kind: 'abort'; readonly dt: number; readonly pick: number }
  /** A late answer's grant given back, whether its permits are due or went already. */
  | { readonly kind: 'give-back'; readonly dt: number; readonly pick: number };

const opsArb = (limit: number, period: number) =>
  fc.array(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('acquire' as const),
          dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 * period })),
          permits: fc.integer({ min: 1, max: limit }),
          timeout: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 * period })),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('abort' as const),
          dt: fc.integer({ min: 0, max: period }),
          pick: fc.nat(),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('give-back' as const),
          dt: fc.integer({ min: 0, max: period }),
          pick: fc.nat(),
        }),
      },
    ),
    { maxLength: 80 },
  );

interface Admission {
  readonly at: number;
  readonly permits: number;
  aborted: boolean;
}

/** Runs `ops` against a fresh engine; returns the admissions (time, permits), checking each answer's contract. */
function simulate(algorithm: RateLimiterAlgorithm, limit: number, period: number, start: number, ops: Op[]) {
  const { engine } = engineOf({ algorithm, limitForPeriod: limit, limitRefreshPeriod: period }, start);
  let now = start;
  const admissions: Admission[] = [];
  for (const op of ops) {
    now += op.dt;
    if (op.kind === 'acquire') {
      const r = engine.acquire(op.permits, now, op.timeout);
      expect(Number.isInteger(r)).toBe(true);
      if (r >= 0) {
        expect(r).toBeLessThanOrEqual(op.timeout);
        admissions.push({ at: now + r, permits: op.permits, aborted: false });
      } else {
        // Rejected only when the wait would exceed the caller's timeout.
        expect(-r).toBeGreaterThan(op.timeout);
      }
    } else if (op.kind === 'give-back') {
      // the caller gave up before the answer: its permits, gone by or not, were never used
      const granted = admissions.filter((a) => !a.aborted);
      if (granted.length === 0) continue;
      const victim = granted[op.pick % granted.length];
      victim.aborted = true;
      engine.giveBack(victim.permits, victim.at, now);
    } else {
      const waiting = admissions.filter((a) => !a.aborted && a.at > now);
      if (waiting.length === 0) continue;
      const victim = waiting[op.pick % waiting.length];
      victim.aborted = true;
      engine.release(victim.permits, victim.at - now, now);
    }
  }
  return admissions.filter((a) => !a.aborted);
}

const configArb = fc.record({
  limit: fc.integer({ min: 1, max: 8 }),
  period: fc.integer({ min: 1, max: 100 }),
  start: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1_000_000 })),
});

describe('rate limiter engine properties', () => {
  it('fixed-window never admits more than limitForPeriod in any period', () => {
    fc.assert(
      fc.property(
        configArb.chain((c) => fc.tuple(fc.constant(c), opsArb(c.limit, c.period))),
        ([{ limit, period, start }, ops]) => {
          const perPeriod = new Map<number, number>();
          for (const a of simulate('fixed-window', limit, period, start, ops)) {
            const cycle = Math.floor(a.at / period);
            perPeriod.set(cycle, (perPeriod.get(cycle) ?? 0) + a.permits);
          }
          for (const count of perPeriod.values()) expect(count).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gcra never admits more than limitForPeriod in any window of length limitRefreshPeriod', () => {
    fc.assert(
      fc.property(
        configArb.chain((c) => fc.tuple(fc.constant(c), opsArb(c.limit, c.period))),
        ([{ limit, period, start }, ops]) => {
          const admitted = simulate('gcra', limit, period, start, ops).sort((x, y) => x.at - y.at);
          for (const first of admitted) {
            let inWindow = 0;
            for (const a of admitted) if (a.at >= first.at && a.at < first.at + period) inWindow += a.permits;
            expect(inWindow).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fixed-window admits two full periods back to back across a boundary (the 2x burst gcra avoids)', () => {
    const { engine } = engineOf({ limitForPeriod: 5, limitRefreshPeriod: 100 });
    expect(engine.acquire(5, 99, 0)).toBe(0);
    expect(engine.acquire(5, 100, 0)).toBe(0);
    const g = engineOf({ algorithm: 'gcra', limitForPeriod: 5, limitRefreshPeriod: 100 }).engine;
    expect(g.acquire(5, 99, 0)).toBe(0);
    expect(g.acquire(5, 100, 0)).toBeLessThanOrEqual(-99);
    expect(g.acquire(1, 100, 0)).toBe(-99);
  });

  it('both algorithms sustain limitForPeriod per period for callers that may wait', () => {
    for (const algorithm of ['fixed-window', 'gcra'] as const) {
      const { engine } = engineOf({ algorithm, limitForPeriod: 10, limitRefreshPeriod: 100 });
      let last = 0;
      for (let i = 0; i < 100; i++) last = engine.acquire(1, 0, 10_000);
      // 100 permits at 10 per 100 ms: the last one goes within the 10th period.
      expect(last).toBeGreaterThanOrEqual(900);
      expect(last).toBeLessThan(1_000);
    }
  });
});
