/**
 * The Lua breaker's `O` operation (carry a trip decided in-process during an outage) against the
 * reference `carryTripIn`: generated configs, a generated history of calls and manual transitions
 * run through both, then a carry for the current generation or a neighbouring one, with any trip
 * reason. Both must agree on whether it opened the breaker, and on the state it left.
 *
 * The script is called directly, with its config built by name (BREAKER_CONFIG) and the caller's
 * clock, so that both sides see the same instants.
 */
import type { CircuitBreakerSettings } from '@breakwater/core';
import {
  type BreakerState,
  initialBreakerState,
  MAX_OPEN_ATTEMPT,
  type ManualTarget,
  type Outcome,
  resolveCircuitBreakerConfig,
  type StepResult,
  step,
  type TripReason,
} from '@breakwater/core/engine';
import { BREAKER_SCRIPT, type BreakerConfigValues, packBreakerConfig } from '@breakwater/store-redis/wire';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { redisForFile, type ScriptCall, scriptCommand } from '../support/redis-suite.js';
import { breakerConfigArb } from './breaker-harness.js';

const redis = redisForFile();
let script: ScriptCall;

beforeAll(() => {
  script = scriptCommand(redis.client, 'bwCarry', BREAKER_SCRIPT.lua);
});

/** The script's arguments before the operations: the caller's clock, the config by name, the origin. */
function argsFor(name: string, s: CircuitBreakerSettings, now: number): string[] {
  const waits = s.hasWaitIntervalFunction
    ? Array.from({ length: MAX_OPEN_ATTEMPT }, (_, i) => s.waitDurationFor(i + 1)).join(',')
    : String(s.waitDurationInOpenState);
  const config: BreakerConfigValues = {
    ttlMs: '86400000',
    windowType: s.slidingWindowType === 'COUNT_BASED' ? 'COUNT' : 'TIME',
    windowSize: String(s.slidingWindowSize),
    closedMin: String(s.closedMinimumCalls),
    halfOpenMin: String(s.halfOpenMinimumCalls),
    failureRateThreshold: String(s.failureRateThreshold),
    slowCallRateThreshold: String(s.slowCallRateThreshold),
    permitted: String(s.permittedNumberOfCallsInHalfOpenState),
    maxWaitHalfOpen: String(s.maxWaitDurationInHalfOpenState),
    afterWaitTarget: s.transitionToStateAfterWaitDuration,
    automatic: s.automaticTransitionFromOpenToHalfOpenEnabled ? '1' : '0',
    failureCountThreshold: String(s.failureCountThreshold),
    consecutiveThreshold: String(s.consecutiveFailureThreshold),
    halfOpenPolicy: s.halfOpenPolicy,
    successThreshold: String(s.successThresholdInHalfOpenState),
    leaseMs: '315360000000',
    channel: '',
    name,
    waits,
  };
  return [String(now), packBreakerConfig(config), 'test'];
}

interface Reply {
  r: (number | number[])[];
  t: { from: string; to: string; reason: string; at: number }[];
  n: number;
  s: string;
}

/**
 * Runs one operation (`op`: its letter and arguments, as the script reads them). The script's fast
 * path answers an acquire or a success on a CLOSED count window with the generation alone: the
 * acquire granted in it (no probe lease), the success recorded.
 */
async function run(key: string, args: string[], op: string): Promise<Reply> {
  const reply = JSON.parse(await script(key, ...args, op)) as Reply | number;
  if (typeof reply === 'number') return { r: [op === 'A' ? [reply, 0] : 1], t: [], n: reply, s: 'CLOSED' };
  return { ...reply, t: Array.isArray(reply.t) ? reply.t : [] };
}

type HistoryStep = { kind: 'call'; outcome: Outcome } | { kind: 'force'; target: ManualTarget };

const historyArb: fc.Arbitrary<HistoryStep[]> = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom<Outcome>(0, 1, 2, 3).map((outcome) => ({ kind: 'call' as const, outcome })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<ManualTarget>(
          'OPEN',
          'CLOSED',
          'HALF_OPEN',
          'FORCED_OPEN',
          'DISABLED',
          'METRICS_ONLY',
          'RESET',
        )
        .map((target) => ({ kind: 'force' as const, target })),
    },
  ),
  { maxLength: 12 },
);

const reasonArb = fc.constantFrom<TripReason>(
  'FAILURE_RATE',
  'SLOW_CALL_RATE',
  'FAILURE_COUNT',
  'CONSECUTIVE_FAILURES',
);

describe('the Lua O operation against carryTripIn', () => {
  it('agrees on whether a carried trip opens the breaker, and on the state it leaves', async () => {
    let run_ = 0;
    await fc.assert(
      fc.asyncProperty(
        breakerConfigArb,
        historyArb,
        fc.constantFrom(-1, 0, 1),
        reasonArb,
        async (config, history, delta, reason) => {
          const name = `carry-${run_++}`;
          const key = `breakwater:{cb:${name}}:state`;
          const settings = resolveCircuitBreakerConfig(config, name);
          let now = 1_700_000_000_000;
          // Like the script's, the reference state starts with the first operation.
          let state: BreakerState | undefined;
          for (const h of history) {
            now += 7;
            state ??= initialBreakerState(settings, now);
            const args = argsFor(name, settings, now);
            if (h.kind === 'force') {
              state = step(state, { type: 'force', target: h.target }, settings, now).state;
              await run(key, args, `T${h.target}`);
              continue;
            }
            const acquired = step(state, { type: 'acquire' }, settings, now);
            state = acquired.state;
            const granted = await run(key, args, 'A');
            if (acquired.decision.type !== 'permitted') continue;
            const [gen, lease] = granted.r[0] as number[];
            state = step(
              state,
              { type: 'result', permit: acquired.decision.permit, outcome: h.outcome },
              settings,
              now,
            ).state;
            await run(key, args, `R${gen},${lease ?? 0},${h.outcome}`);
          }
          now += 7;
          state ??= initialBreakerState(settings, now);
          const generation = state.generation + delta;
          const expected: StepResult = step(state, { type: 'carry', generation, reason }, settings, now);
          const reply = await run(key, argsFor(name, settings, now), `O${generation},${reason}`);
          expect(reply.r[0]).toBe(expected.decision.type === 'carried' && expected.decision.opened ? 1 : 0);
          expect({ state: reply.s, generation: reply.n }).toEqual({
            state: expected.state.state,
            generation: expected.state.generation,
          });
          expect(reply.t.map((t) => `${t.from}->${t.to} ${t.reason} @${t.at}`)).toEqual(
            expected.transitions.map((t) => `${t.from}->${t.to} ${t.reason} @${t.at}`),
          );
          const doc = JSON.parse((await redis.client.get(key)) ?? 'null') as BreakerState | null;
          if (doc !== null) {
            // (`since` of a state nothing has written yet is when the script first wrote it: compared
            // only where the carry decided it.)
            const opened = reply.r[0] === 1;
            expect({
              openUntil: doc.openUntil,
              attempts: doc.attempts,
              ...(opened ? { since: doc.since } : {}),
            }).toEqual({
              openUntil: expected.state.openUntil,
              attempts: expected.state.attempts,
              ...(opened ? { since: expected.state.since } : {}),
            });
          }
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);
});
