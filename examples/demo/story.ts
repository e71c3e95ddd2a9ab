/**
 * The demo's story: a payments API behind a circuit breaker, called every 100 ms for 12 s while it
 * goes through an outage. Each call's result is a mark in a row per second, labelled with the
 * breaker's state; transitions and the API's phases are lines of their own, in the order they
 * happened. Runs on `Date.now()`
 * and `setTimeout`, so a test can run it on fake timers.
 */
import { CallNotPermittedError, CircuitBreaker, type CircuitBreakerStateName } from '@breakwater/core';
import { FlakyDownstream } from './flaky-downstream.js';

export const CALL_EVERY_MS = 100;
export const DURATION_MS = 12_000;

export interface StoryOptions {
  /** Where each line goes. */
  readonly print: (line: string) => void;
  /** ANSI colours. */
  readonly color?: boolean;
}

export interface StoryResult {
  readonly totals: { readonly ok: number; readonly failed: number; readonly rejected: number };
  /** Calls that reached the API. */
  readonly apiCalls: number;
  readonly finalState: CircuitBreakerStateName;
  readonly bufferedCalls: number;
  readonly failureRate: number;
}

const STATE_COLORS: Record<CircuitBreakerStateName, number> = {
  CLOSED: 32,
  OPEN: 31,
  HALF_OPEN: 33,
  FORCED_OPEN: 35,
  DISABLED: 90,
  METRICS_ONLY: 36,
};

export async function run(options: StoryOptions): Promise<StoryResult> {
  const { print } = options;
  const paint = (code: number, s: string) => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const showState = (s: CircuitBreakerStateName) => paint(STATE_COLORS[s], s.padEnd(9));

  const start = Date.now();
  const downstream = new FlakyDownstream(
    [
      { from: 0, label: 'normal traffic', failureRate: 0.05, latencyMs: 40 },
      { from: 3, label: 'an outage', failureRate: 0.95, latencyMs: 60 },
      { from: 6.5, label: 'recovery', failureRate: 0.02, latencyMs: 40 },
    ],
    start,
  );

  const breaker = CircuitBreaker.of(
    'payments-api',
    {
      slidingWindowType: 'COUNT_BASED',
      slidingWindowSize: 10,
      minimumNumberOfCalls: 5,
      failureRateThreshold: 50,
      slowCallDurationThreshold: 500,
      permittedNumberOfCallsInHalfOpenState: 3,
      // 1.5 s after the first opening, 3 s after the next: back off from a dependency that stays down.
      waitIntervalFunctionInOpenState: (attempt) => 1500 * 2 ** (attempt - 1),
    },
    // Date.now() at each reading (not a reference to it), so that fake timers move it too.
    { clock: { now: () => Date.now() } },
  );

  const seconds = () => ((Date.now() - start) / 1000).toFixed(1).padStart(5);
  let row = '';
  let rowSecond = 0;
  let state: CircuitBreakerStateName = 'CLOSED';
  const totals = { ok: 0, failed: 0, rejected: 0 };

  function flushRow(): void {
    if (row) print(`  ${String(rowSecond).padStart(2)}s ${showState(state)} ${row}`);
    row = '';
  }

  /**
   * The transitions that happened during the call in flight (undefined: none in flight). A
   * transition happens during a call, before its result is known: it is printed first, with that
   * result after it on its line, and the call's mark does not go to the next row, whose state the
   * call was not made in.
   */
  let during: string[] | undefined;

  breaker.on('STATE_TRANSITION', (e) => {
    flushRow();
    const rate = e.failureRate >= 0 ? ` (failure rate ${Math.round(e.failureRate)}%)` : '';
    const why =
      {
        FAILURE_RATE: `too many failures${rate}`,
        WAIT_ELAPSED: 'wait over: letting a few probe calls through',
        HALF_OPEN_PASSED: `probes succeeded${rate}`,
      }[e.reason as string] ?? `${e.reason.toLowerCase().replaceAll('_', ' ')}${rate}`;
    const line = `${seconds()}s  ${showState(e.from)}-> ${showState(e.to)} ${why}`;
    state = e.to;
    if (during === undefined) print(line);
    else during.push(line);
  });

  /** A call's result: after the transitions it caused, or else a mark in the current row. */
  function settled(mark: string): void {
    const held = during ?? [];
    during = undefined;
    if (held.length === 0) row += mark;
    for (const line of held) print(`${line}  [during a call: ${mark}]`);
  }

  let lastPhase = '';
  while (Date.now() - start < DURATION_MS) {
    const began = Date.now();
    const second = Math.floor((began - start) / 1000);
    if (second !== rowSecond) {
      flushRow();
      rowSecond = second;
    }
    const phase = downstream.phaseAt(began).label;
    if (phase !== lastPhase) {
      flushRow();
      print(paint(1, `-- ${seconds()}s the payments API enters ${phase}`));
      lastPhase = phase;
    }
    // One call at a time (each one is over well within its 100 ms): a transition is the current call's.
    during = [];
    await breaker
      .execute((signal) => downstream.charge(signal))
      .then(
        () => {
          totals.ok++;
          settled(paint(32, 'o'));
        },
        (error: unknown) => {
          if (error instanceof CallNotPermittedError) {
            totals.rejected++;
            settled(paint(90, '.'));
          } else {
            totals.failed++;
            settled(paint(31, 'x'));
          }
        },
      );
    await new Promise((r) => setTimeout(r, Math.max(0, CALL_EVERY_MS - (Date.now() - began))));
  }
  flushRow();

  const metrics = await breaker.getMetrics();
  const finalState = await breaker.getState();
  breaker.close();
  return {
    totals,
    apiCalls: downstream.calls,
    finalState,
    bufferedCalls: metrics.numberOfBufferedCalls,
    failureRate: metrics.failureRate,
  };
}
