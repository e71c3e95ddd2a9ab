/**
 * The circuit-breaker conformance harness: generated command sequences run against the pure
 * reference `step()` (threading its state) and against the engines a Store hands out, which must
 * agree on every decision, state, metric and effect (transitions, exceeded thresholds, resets).
 *
 * Stores come in through `StoreFactory`, so that every store (MemoryStore today, RedisStore
 * later) is held to the same reference. Everything an engine returns is awaited, so engines may
 * answer synchronously or with promises.
 *
 * Time: the harness owns the clock. It passes `now` explicitly to every engine call and to
 * `step()`. An engine under test MUST honour the `now` it is given (a RedisStore that normally
 * reads Redis `TIME` needs a test hook that makes its scripts use the passed `now`), or the
 * comparison is meaningless.
 */

import { isDeepStrictEqual } from 'node:util';
import {
  type CircuitBreakerConfig,
  type CircuitBreakerMetrics,
  type CircuitBreakerSettings,
  type CircuitBreakerStateName,
  STATES,
  type Store,
} from '@breakwater/core';
import {
  type BreakerEngine,
  type BreakerState,
  type BreakerTransition,
  CURRENT_PERMIT,
  deniedState,
  initialBreakerState,
  type ManualTarget,
  metricsOf,
  type Outcome,
  resolveCircuitBreakerConfig,
  type StepEffects,
  type StepInput,
  type StepResult,
  step,
  type ThresholdExceeded,
} from '@breakwater/core/engine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// ------------------------------------------------------------------ stores under test

/** One store instance for one generated run. */
export interface StoreUnderTest {
  readonly store: Store;
  /**
   * Awaited after every operation, before effects are compared: a store that delivers effects
   * asynchronously (e.g. over pub/sub) resolves it once they have all arrived.
   */
  settle?(): Promise<void>;
  /** Releases what `create` made (connections, servers); called once per run. */
  close?(): void | Promise<void>;
}

export interface StoreFactory {
  /** Shown in the test name, e.g. `'MemoryStore'`. */
  readonly name: string;
  create(): StoreUnderTest | Promise<StoreUnderTest>;
  /**
   * True when every engine of a name hears every effect, whichever engine caused it, by the
   * time `settle()` resolves. The harness then checks that all engines heard the same thing.
   */
  readonly broadcastsEffects?: boolean;
}

// ------------------------------------------------------------------ generated input

/** Which permit a result or release is for: one handed out earlier (and not yet used), or the manual API's. */
export type PermitRef = { readonly kind: 'current' } | { readonly kind: 'issued'; readonly pick: number };

/**
 * One command. `via` picks which engine (all share one name on one store) runs it; `gap` is how far
 * the clock moves (ms) before it runs.
 */
export type EngineOp =
  | { readonly kind: 'acquire'; readonly via: number; readonly gap: number }
  | {
      readonly kind: 'record';
      readonly via: number;
      readonly gap: number;
      readonly permit: PermitRef;
      readonly outcome: Outcome;
    }
  | { readonly kind: 'release'; readonly via: number; readonly gap: number; readonly permit: PermitRef }
  | { readonly kind: 'transition'; readonly via: number; readonly gap: number; readonly target: ManualTarget }
  | { readonly kind: 'read'; readonly via: number; readonly gap: number }
  /**
   * Several acquires and results issued on one engine in the same tick, without awaiting in
   * between (a store may send them as one batch: RedisStore runs them in one script call); the
   * reference applies them in order. A result's permit is one handed out before the burst.
   */
  | {
      readonly kind: 'burst';
      readonly via: number;
      readonly gap: number;
      readonly calls: readonly BurstCall[];
    }
  /** Moves the clock to (offset ms around) the next deadline of the reference state, or the next second. */
  | { readonly kind: 'advanceTo'; readonly to: 'deadline' | 'second'; readonly offset: -1 | 0 | 1 };

export type BurstCall =
  | { readonly kind: 'acquire' }
  | { readonly kind: 'record'; readonly permit: PermitRef; readonly outcome: Outcome };

const percentArb = fc.oneof(fc.constantFrom(25, 50, 100, 33.4, 66.6), fc.integer({ min: 1, max: 100 }));

/**
 * The generated fields of a small breaker configuration, before they become a
 * CircuitBreakerConfig. Shared with the core model test (circuit-breaker.model.test.ts), so that the
 * model and this harness explore the same configurations; each adds what it needs on top.
 */
export const breakerShapeArbs = {
  windowType: fc.constantFrom('COUNT_BASED' as const, 'TIME_BASED' as const),
  windowSize: fc.integer({ min: 1, max: 6 }),
  /** Undefined: left to the default (100). */
  minimumNumberOfCalls: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined, freq: 8 }),
  failureRateThreshold: percentArb,
  /** Undefined: left to the default (100). */
  slowCallRateThreshold: fc.option(percentArb, { nil: undefined, freq: 3 }),
  permitted: fc.integer({ min: 1, max: 4 }),
  maxWaitInHalfOpen: fc.oneof(fc.constant(0), fc.integer({ min: 100, max: 3_000 })),
  afterMaxWait: fc.constantFrom('OPEN' as const, 'CLOSED' as const),
  automatic: fc.boolean(),
  failureCountThreshold: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  consecutiveFailureThreshold: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  halfOpenPolicy: fc.constantFrom('rate' as const, 'successes' as const),
  successThreshold: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
};

/** What `breakerShapeArbs` generates. */
export type BreakerShape = {
  readonly [K in keyof typeof breakerShapeArbs]: (typeof breakerShapeArbs)[K] extends fc.Arbitrary<infer T>
    ? T
    : never;
};

/**
 * `shape` made valid: TIME_BASED sizes (seconds) at most 4, so that windows expire within a run;
 * a count threshold no larger than a COUNT_BASED window (config validation refuses one that could
 * never be reached); a success threshold only for 'successes', and no larger than the probes.
 */
export function validBreakerShape<T extends BreakerShape>(shape: T): T {
  const countBased = shape.windowType === 'COUNT_BASED';
  return {
    ...shape,
    windowSize: countBased ? shape.windowSize : Math.min(shape.windowSize, 4),
    failureCountThreshold:
      shape.failureCountThreshold !== undefined && countBased
        ? Math.min(shape.failureCountThreshold, shape.windowSize)
        : shape.failureCountThreshold,
    successThreshold:
      shape.halfOpenPolicy === 'successes' && shape.successThreshold !== undefined
        ? Math.min(shape.successThreshold, shape.permitted)
        : undefined,
  };
}

/** The part of a CircuitBreakerConfig that `shape` says; an undefined field is left to its default. */
export function configOfShape(shape: BreakerShape): CircuitBreakerConfig {
  return {
    slidingWindowType: shape.windowType,
    slidingWindowSize: shape.windowSize,
    ...(shape.minimumNumberOfCalls !== undefined ? { minimumNumberOfCalls: shape.minimumNumberOfCalls } : {}),
    failureRateThreshold: shape.failureRateThreshold,
    ...(shape.slowCallRateThreshold !== undefined
      ? { slowCallRateThreshold: shape.slowCallRateThreshold }
      : {}),
    permittedNumberOfCallsInHalfOpenState: shape.permitted,
    maxWaitDurationInHalfOpenState: shape.maxWaitInHalfOpen,
    transitionToStateAfterWaitDuration: shape.afterMaxWait,
    automaticTransitionFromOpenToHalfOpenEnabled: shape.automatic,
    ...(shape.failureCountThreshold !== undefined
      ? { failureCountThreshold: shape.failureCountThreshold }
      : {}),
    ...(shape.consecutiveFailureThreshold !== undefined
      ? { consecutiveFailureThreshold: shape.consecutiveFailureThreshold }
      : {}),
    halfOpenPolicy: shape.halfOpenPolicy,
    ...(shape.successThreshold !== undefined
      ? { successThresholdInHalfOpenState: shape.successThreshold }
      : {}),
  };
}

/**
 * Small configurations that reach every state quickly: both window types, tiny windows, every
 * threshold kind, both half-open policies, max wait, automatic transition, wait functions.
 * (A store whose engine cannot run user functions, e.g. Lua, must still get the wait from
 * `settings.waitDurationFor`; the configs with a wait function check that it does.)
 */
export const breakerConfigArb: fc.Arbitrary<CircuitBreakerConfig> = fc
  .record({
    ...breakerShapeArbs,
    wait: fc.oneof(
      fc.integer({ min: 100, max: 5_000 }),
      fc.integer({ min: 100, max: 2_000 }).map((base) => (attempt: number) => base * attempt),
    ),
  })
  .map(validBreakerShape)
  .map(
    (g): CircuitBreakerConfig => ({
      ...configOfShape(g),
      ...(typeof g.wait === 'number'
        ? { waitDurationInOpenState: g.wait }
        : { waitIntervalFunctionInOpenState: g.wait }),
    }),
  );

const viaArb = fc.nat({ max: 1 });
const gapArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 1_500 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_500, max: 90_000 }) },
);
const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0 as const, 1 as const) },
  { weight: 1, arbitrary: fc.constantFrom(2 as const, 3 as const) },
);
const permitArb: fc.Arbitrary<PermitRef> = fc.oneof(
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ kind: 'issued' as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'current' as const }) },
);
const targetArb: fc.Arbitrary<ManualTarget> = fc.constantFrom<ManualTarget>(...STATES, 'RESET');

/** Mostly successes: the hot case a store may take a shortcut for (and its edges: the minimum, a failure). */
const burstCallArb: fc.Arbitrary<BurstCall> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'acquire' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      permit: permitArb,
      outcome: fc.oneof(
        { weight: 8, arbitrary: fc.constant(0 as const) },
        { weight: 2, arbitrary: outcomeArb },
      ),
    }),
  },
);

export const engineOpArb: fc.Arbitrary<EngineOp> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('acquire' as const), via: viaArb, gap: gapArb }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      via: viaArb,
      gap: gapArb,
      permit: permitArb,
      outcome: outcomeArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      via: viaArb,
      gap: gapArb,
      permit: permitArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('transition' as const),
      via: viaArb,
      gap: gapArb,
      target: targetArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), via: viaArb, gap: gapArb }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      via: viaArb,
      gap: gapArb,
      calls: fc.array(burstCallArb, { minLength: 2, maxLength: 8 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advanceTo' as const),
      to: fc.constantFrom('deadline' as const, 'second' as const),
      offset: fc.constantFrom(-1 as const, 0 as const, 1 as const),
    }),
  },
);

export const engineOpsArb: fc.Arbitrary<EngineOp[]> = fc.array(engineOpArb, { maxLength: 60, size: 'max' });

/** Epoch start with a sub-second offset, so that per-second buckets do not line up with it. */
export const startArb: fc.Arbitrary<number> = fc
  .integer({ min: 0, max: 999 })
  .map((ms) => 1_700_000_000_000 + ms);

// ------------------------------------------------------------------ running one sequence

/** What one operation produced besides its decision, merged over however many deliveries. */
export interface Effects {
  readonly transitions: BreakerTransition[];
  readonly exceeded: ThresholdExceeded[];
  readonly reset: boolean;
}

function noEffects(): Effects {
  return { transitions: [], exceeded: [], reset: false };
}

function mergeEffects(into: Effects[], fx: Readonly<StepEffects>): void {
  into.push({ transitions: [...fx.transitions], exceeded: [...fx.exceeded], reset: fx.reset });
}

function merged(list: readonly Effects[]): Effects {
  const out = noEffects();
  let reset = false;
  for (const fx of list) {
    out.transitions.push(...fx.transitions);
    out.exceeded.push(...fx.exceeded);
    reset ||= fx.reset;
  }
  return { ...out, reset };
}

/** A decision in a form both sides can produce: permit tokens are engine-private, so only their kind is compared. */
type Decision =
  | { readonly type: 'permitted' }
  | { readonly type: 'denied'; readonly state: CircuitBreakerStateName }
  | { readonly type: 'legal'; readonly legal: boolean }
  | { readonly type: 'done' }
  | { readonly type: 'burst'; readonly decisions: readonly Decision[] };

interface View {
  readonly state: CircuitBreakerStateName;
  readonly metrics: CircuitBreakerMetrics;
}

/** A permit handed out and not yet used: the reference's token and the engine's token. */
interface Outstanding {
  readonly reference: number;
  readonly engine: number;
}

/** The reference side: `step()` with its state threaded through. */
class Reference {
  constructor(
    public state: BreakerState,
    private readonly settings: CircuitBreakerSettings,
  ) {}

  run(input: StepInput, now: number): StepResult {
    const before = structuredClone(this.state);
    const result = step(this.state, input, this.settings, now);
    // step() is pure: it must not touch the state it was given.
    same(this.state, before, 'the state step() was given');
    this.state = result.state;
    return result;
  }

  /** When the reference state next changes by itself or stops refusing, if ever. */
  deadline(): number | undefined {
    const s = this.state;
    if (s.state === 'OPEN') return s.openUntil;
    const maxWait = this.settings.maxWaitDurationInHalfOpenState;
    return s.state === 'HALF_OPEN' && maxWait > 0 ? s.since + maxWait : undefined;
  }
}

function effectsOf(r: StepResult): Effects {
  return { transitions: [...r.transitions], exceeded: [...r.exceeded], reset: r.reset };
}

/** expect(actual).toEqual(expected), with a fast path: vitest's deep equality is slow on hot loops. */
function same(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual, what).toEqual(expected);
}

let runCounter = 0;

/**
 * Applies `ops` to the reference and to `engines` engines of one name on a fresh store from
 * `factory`, comparing after every operation. Throws (a vitest assertion) on the first difference.
 */
export async function runConformance(
  factory: StoreFactory,
  config: CircuitBreakerConfig,
  start: number,
  ops: readonly EngineOp[],
  engineCount = 2,
): Promise<void> {
  const name = `conformance-${process.pid}-${++runCounter}`;
  const settings = resolveCircuitBreakerConfig(config, name);
  const sut = await factory.create();
  const heard: Effects[][] = Array.from({ length: engineCount }, () => []);
  const engines: BreakerEngine[] = heard.map((log) =>
    sut.store.circuitBreaker(name, settings, (fx) => mergeEffects(log, fx)),
  );
  const reference = new Reference(initialBreakerState(settings, start), settings);
  const outstanding: Outstanding[] = [];
  let now = start;

  /** Runs one operation on engine `via` and returns its decision and the effects it heard. */
  const onEngine = async (
    via: number,
    call: (engine: BreakerEngine) => Promise<Decision>,
  ): Promise<{ decision: Decision; effects: Effects }> => {
    for (const log of heard) log.length = 0;
    const decision = await call(engines[via]);
    await sut.settle?.();
    const effects = merged(heard[via]);
    if (factory.broadcastsEffects) {
      for (const log of heard) same(merged(log), effects, 'effects heard by every engine');
    }
    return { decision, effects };
  };

  const takePermit = (ref: PermitRef): Outstanding | undefined => {
    if (ref.kind === 'current' || outstanding.length === 0) return undefined;
    return outstanding.splice(ref.pick % outstanding.length, 1)[0];
  };

  const read = async (via: number): Promise<void> => {
    let view: View | undefined;
    const engine = await onEngine(via, async (e) => {
      view = await e.read(now);
      return { type: 'done' };
    });
    const r = reference.run({ type: 'tick' }, now);
    same(engine.effects, effectsOf(r), 'effects of a read');
    same(view?.state, r.state.state, 'state');
    same(view?.metrics, metricsOf(r.state), 'metrics');
  };

  try {
    // Every engine reads once first, as a CircuitBreaker does on construction: engines may attach
    // to the shared state lazily, and only attached engines can hear effects.
    for (let i = 0; i < engineCount; i++) await read(i);
    for (const op of ops) {
      if (op.kind === 'advanceTo') {
        const base = op.to === 'deadline' ? reference.deadline() : (Math.floor(now / 1000) + 1) * 1000;
        if (base !== undefined && base + op.offset > now) now = base + op.offset;
        continue;
      }
      now += op.gap;
      const via = op.via % engineCount;
      let expected: Decision;
      let expectedEffects: Effects;
      let actual: { decision: Decision; effects: Effects };
      switch (op.kind) {
        case 'acquire': {
          let token = 0;
          actual = await onEngine(via, async (e) => {
            token = await e.acquire(now);
            return token >= 0 ? { type: 'permitted' } : { type: 'denied', state: deniedState(token) };
          });
          const r = reference.run({ type: 'acquire' }, now);
          expectedEffects = effectsOf(r);
          if (r.decision.type === 'permitted') {
            expected = { type: 'permitted' };
            if (actual.decision.type === 'permitted') {
              outstanding.push({ reference: r.decision.permit, engine: token });
            }
          } else {
            expected = { type: 'denied', state: r.decision.type === 'denied' ? r.decision.state : 'CLOSED' };
          }
          break;
        }
        case 'record':
        case 'release': {
          const permit = takePermit(op.permit);
          const enginePermit = permit?.engine ?? CURRENT_PERMIT;
          const referencePermit = permit?.reference ?? CURRENT_PERMIT;
          if (op.kind === 'record') {
            const outcome = op.outcome;
            actual = await onEngine(via, async (e) => {
              await e.record(enginePermit, outcome, now);
              return { type: 'done' };
            });
            expectedEffects = effectsOf(
              reference.run({ type: 'result', permit: referencePermit, outcome }, now),
            );
          } else {
            actual = await onEngine(via, async (e) => {
              await e.release(enginePermit, now);
              return { type: 'done' };
            });
            expectedEffects = effectsOf(reference.run({ type: 'release', permit: referencePermit }, now));
          }
          expected = { type: 'done' };
          break;
        }
        case 'burst': {
          const plan = op.calls.map((call) => ({
            call,
            permit: call.kind === 'record' ? takePermit(call.permit) : undefined,
          }));
          const tokens: number[] = [];
          actual = await onEngine(via, async (e) => {
            // all issued before any is awaited
            const pending = plan.map(({ call, permit }) =>
              call.kind === 'acquire'
                ? e.acquire(now)
                : e.record(permit?.engine ?? CURRENT_PERMIT, call.outcome, now),
            );
            const results = await Promise.all(pending);
            return {
              type: 'burst',
              decisions: plan.map(({ call }, i): Decision => {
                if (call.kind === 'record') return { type: 'done' };
                const token = results[i] as number;
                tokens[i] = token;
                return token >= 0 ? { type: 'permitted' } : { type: 'denied', state: deniedState(token) };
              }),
            };
          });
          const decisions: Decision[] = [];
          const all: Effects[] = [];
          plan.forEach(({ call, permit }, i) => {
            if (call.kind === 'record') {
              const referencePermit = permit?.reference ?? CURRENT_PERMIT;
              all.push(
                effectsOf(
                  reference.run({ type: 'result', permit: referencePermit, outcome: call.outcome }, now),
                ),
              );
              decisions.push({ type: 'done' });
              return;
            }
            const r = reference.run({ type: 'acquire' }, now);
            all.push(effectsOf(r));
            if (r.decision.type === 'permitted') {
              decisions.push({ type: 'permitted' });
              if (tokens[i] !== undefined && tokens[i] >= 0) {
                outstanding.push({ reference: r.decision.permit, engine: tokens[i] });
              }
            } else {
              decisions.push({
                type: 'denied',
                state: r.decision.type === 'denied' ? r.decision.state : 'CLOSED',
              });
            }
          });
          expected = { type: 'burst', decisions };
          expectedEffects = merged(all);
          break;
        }
        case 'transition': {
          const target = op.target;
          actual = await onEngine(via, async (e) => ({
            type: 'legal',
            legal: await e.transition(target, now),
          }));
          const r = reference.run({ type: 'force', target }, now);
          expected = { type: 'legal', legal: r.decision.type === 'forced' && r.decision.legal };
          expectedEffects = effectsOf(r);
          break;
        }
        default:
          actual = { decision: { type: 'done' }, effects: noEffects() };
          expected = { type: 'done' };
          expectedEffects = noEffects();
      }
      same(actual.decision, expected, `decision of ${JSON.stringify(op)}`);
      same(actual.effects, expectedEffects, `effects of ${JSON.stringify(op)}`);
      // A read through the operating engine and one through the other: both see the shared state.
      await read(via);
      if (engineCount > 1) await read((via + 1) % engineCount);
    }
  } finally {
    for (const e of engines) e.close();
    await sut.close?.();
  }
}

/** The property over generated configs and sequences, for one store. */
export async function checkStoreConformance(factory: StoreFactory, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(breakerConfigArb, startArb, engineOpsArb, (config, start, ops) =>
      runConformance(factory, config, start, ops),
    ),
    { numRuns },
  );
}

/**
 * Declares one test per store: each runs `numRuns` generated sequences (fast-check prints the seed
 * and the shrunk sequence of the first failure). Call it from a test file with the stores to hold
 * to the reference.
 */
export function describeBreakerConformance(factories: readonly StoreFactory[], numRuns = 500): void {
  describe('circuit breaker conformance with the reference step()', () => {
    for (const factory of factories) {
      it(factory.name, async () => {
        await checkStoreConformance(factory, numRuns);
      }, 120_000);
    }
  });
}
