/**
 * The Lua rate limiter against the in-process engines (`createLocalRateLimiterEngine`, the
 * reference): the same generated sequences of acquire / release / give-back / drain / read, with the clock
 * owned by the test (`clock: 'caller'`), must give the same answer to every operation, through
 * either of two engines sharing the name, for both algorithms. Reads through both engines after
 * every operation compare the shared state.
 */
import type { RateLimiterConfig } from '@breakwater/core';
import {
  createLocalRateLimiterEngine,
  createRateLimiterCell,
  type RateLimiterEngine,
  resolveRateLimiterConfig,
} from '@breakwater/core/engine';
import fc from 'fast-check';
import { describe } from 'vitest';
import { redisForFile } from '../support/redis-suite.js';
import { itHolds, lockstep, startArb } from './lockstep.js';

const redis = redisForFile({ store: { clock: 'caller', commandTimeout: 5_000 } });

type Op =
  | { readonly kind: 'acquire'; readonly via: number; readonly gap: number; readonly permits: number }
  /** Gives back a reservation granted earlier: `pick` -1 is the latest. */
  | { readonly kind: 'release'; readonly via: number; readonly gap: number; readonly pick: number }
  /** Gives back a grant (immediate or reserved, due or gone by) as a late answer does: `pick` -1 is the latest. */
  | { readonly kind: 'give-back'; readonly via: number; readonly gap: number; readonly pick: number }
  | { readonly kind: 'drain' | 'read'; readonly via: number; readonly gap: number }
  /** Moves the clock to (offset ms around) the next period boundary. */
  | { readonly kind: 'boundary'; readonly offset: -1 | 0 | 1 };

const configArb: fc.Arbitrary<RateLimiterConfig> = fc.record({
  algorithm: fc.constantFrom('fixed-window' as const, 'gcra' as const),
  // odd limits and periods give GCRA fractional emission intervals
  limitForPeriod: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constantFrom(7, 13, 50)),
  limitRefreshPeriod: fc.oneof(
    fc.constantFrom(1, 7, 100, 333, 500, 1_000),
    fc.integer({ min: 2, max: 3_000 }),
  ),
  timeoutDuration: fc.oneof(fc.constantFrom(0, 12.5, 100, 1_000, 5_000), fc.integer({ min: 0, max: 20_000 })),
});

const gapArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 400, max: 10_000 }) },
);
const viaArb = fc.nat({ max: 1 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('acquire' as const),
      via: viaArb,
      gap: gapArb,
      permits: fc.integer({ min: 1, max: 50 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      via: viaArb,
      gap: gapArb,
      // -1: the latest reservation, the one most often given back for real
      pick: fc.oneof(fc.constant(-1), fc.nat()),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('give-back' as const),
      via: viaArb,
      gap: gapArb,
      pick: fc.oneof(fc.constant(-1), fc.nat()),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drain' as const), via: viaArb, gap: gapArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), via: viaArb, gap: gapArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('boundary' as const),
      offset: fc.constantFrom(-1 as const, 0 as const, 1 as const),
    }),
  },
);

let runs = 0;

/** The store's engine, with the give-back a late answer's grants go through (not in the interface). */
function givingBack(
  engine: RateLimiterEngine,
): RateLimiterEngine & { giveBack(permits: number, dueAt: number, now: number): Promise<void> } {
  if (!('giveBack' in engine) || typeof engine.giveBack !== 'function') throw new Error('no giveBack');
  return engine as RateLimiterEngine & {
    giveBack(permits: number, dueAt: number, now: number): Promise<void>;
  };
}

async function run(config: RateLimiterConfig, start: number, ops: readonly Op[]): Promise<void> {
  const name = `rl-conformance-${++runs}`;
  const settings = resolveRateLimiterConfig(config, name);
  let cell: ReturnType<typeof createRateLimiterCell> | undefined;
  const reference = createLocalRateLimiterEngine(settings, (now) => {
    cell ??= createRateLimiterCell(settings, now);
    return cell;
  });
  const engines = [
    givingBack(redis.store.rateLimiter(name, settings)),
    givingBack(redis.store.rateLimiter(name, settings)),
  ];
  /** Grants not handed back: when their permits go (or went), how many, and whether with a wait. */
  const grants: { due: number; permits: number; reserved: boolean }[] = [];
  let now = start;
  await lockstep(engines, ops, async (op, { log, check }) => {
    if (op.kind === 'boundary') {
      const period = settings.limitRefreshPeriod;
      const next = (Math.floor(now / period) + 1) * period + op.offset;
      if (next > now) now = next;
      return;
    }
    now += op.gap;
    const engine = engines[op.via];
    switch (op.kind) {
      case 'acquire': {
        const permits = Math.min(op.permits, settings.limitForPeriod);
        log(`${now}: acquire ${permits} via ${op.via}`);
        const expected = reference.acquire(permits, now, settings.timeoutDuration);
        check(await engine.acquire(permits, now, settings.timeoutDuration), expected, 'acquire');
        if (expected >= 0) grants.push({ due: now + expected, permits, reserved: expected > 0 });
        break;
      }
      case 'release': {
        const reservations = grants.filter((g) => g.reserved);
        if (reservations.length === 0) return;
        const r = reservations[op.pick < 0 ? reservations.length - 1 : op.pick % reservations.length];
        grants.splice(grants.indexOf(r), 1);
        log(`${now}: release ${r.permits} due ${r.due} via ${op.via}`);
        reference.release(r.permits, r.due - now, now);
        await engine.release(r.permits, r.due - now, now);
        break;
      }
      case 'give-back': {
        if (grants.length === 0) return;
        const [g] = grants.splice(op.pick < 0 ? grants.length - 1 : op.pick % grants.length, 1);
        log(`${now}: give back ${g.permits} due ${g.due} via ${op.via}`);
        reference.giveBack(g.permits, g.due, now);
        await engine.giveBack(g.permits, g.due, now);
        break;
      }
      case 'drain':
        log(`${now}: drain via ${op.via}`);
        check(await engine.drain(now), reference.drain(now), 'drain');
        break;
      case 'read':
        break;
    }
    // both engines read the shared state as the reference has it
    const expected = reference.read(now);
    for (const [i, e] of engines.entries()) check(await e.read(now), expected, `read via ${i} at ${now}`);
  });
}

describe('rate limiter conformance: RedisStore (Lua) against the in-process engines', () => {
  itHolds(
    'same answers to generated sequences, both algorithms',
    300,
    fc.asyncProperty(configArb, startArb, fc.array(opArb, { maxLength: 50, size: 'max' }), run),
  );
});
