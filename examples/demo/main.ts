/**
 * `pnpm demo`: a flaky payments API behind a circuit breaker, on the in-process store.
 * Watch the breaker open during the outage, fail fast, probe in HALF_OPEN, and close again.
 * Finite (about 12 s) and deterministic in its story; exits 0.
 */
import { CallNotPermittedError, CircuitBreaker, type CircuitBreakerStateName } from '@breakwater/core';
import { FlakyDownstream } from './flaky-downstream.js';

const CALL_EVERY_MS = 100;
const DURATION_MS = 12_000;

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const STATE_COLORS: Record<CircuitBreakerStateName, number> = {
  CLOSED: 32,
  OPEN: 31,
  HALF_OPEN: 33,
  FORCED_OPEN: 35,
  DISABLED: 90,
  METRICS_ONLY: 36,
};
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

const breaker = CircuitBreaker.of('payments-api', {
  slidingWindowType: 'COUNT_BASED',
  slidingWindowSize: 10,
  minimumNumberOfCalls: 5,
  failureRateThreshold: 50,
  slowCallDurationThreshold: 500,
  permittedNumberOfCallsInHalfOpenState: 3,
  // 1.5 s after the first opening, 3 s after the next: back off from a dependency that stays down.
  waitIntervalFunctionInOpenState: (attempt) => 1500 * 2 ** (attempt - 1),
});

const seconds = () => ((Date.now() - start) / 1000).toFixed(1).padStart(5);
let row = '';
let rowSecond = 0;
let state: CircuitBreakerStateName = 'CLOSED';
const totals = { ok: 0, failed: 0, rejected: 0 };

function flushRow(): void {
  if (row) console.log(`  ${String(rowSecond).padStart(2)}s ${showState(state)} ${row}`);
  row = '';
}

breaker.on('STATE_TRANSITION', (e) => {
  flushRow();
  const rate = e.failureRate >= 0 ? ` (failure rate ${Math.round(e.failureRate)}%)` : '';
  const why =
    {
      FAILURE_RATE: `too many failures${rate}`,
      WAIT_ELAPSED: 'wait over: letting a few probe calls through',
      HALF_OPEN_PASSED: `probes succeeded${rate}`,
    }[e.reason as string] ?? `${e.reason.toLowerCase().replaceAll('_', ' ')}${rate}`;
  console.log(`${seconds()}s  ${showState(e.from)}-> ${showState(e.to)} ${why}`);
  state = e.to;
});

console.log('Breakwater demo: a payments API behind a circuit breaker (in-process store)');
console.log(
  'window: last 10 calls, opens at >= 50% failures, 3 half-open probes, open wait 1.5 s then 3 s\n',
);
console.log(
  `  legend: ${paint(32, 'o')} success  ${paint(31, 'x')} failure  ${paint(90, '.')} rejected fast by the breaker\n`,
);

let lastPhase = '';
const calls: Promise<void>[] = [];
while (Date.now() - start < DURATION_MS) {
  const second = Math.floor((Date.now() - start) / 1000);
  if (second !== rowSecond) {
    flushRow();
    rowSecond = second;
  }
  const phase = downstream.phaseAt(Date.now()).label;
  if (phase !== lastPhase) {
    flushRow();
    console.log(paint(1, `-- ${seconds()}s the payments API enters ${phase}`));
    lastPhase = phase;
  }
  calls.push(
    breaker
      .execute((signal) => downstream.charge(signal))
      .then(
        () => {
          totals.ok++;
          row += paint(32, 'o');
        },
        (error: unknown) => {
          if (error instanceof CallNotPermittedError) {
            totals.rejected++;
            row += paint(90, '.');
          } else {
            totals.failed++;
            row += paint(31, 'x');
          }
        },
      ),
  );
  await new Promise((r) => setTimeout(r, CALL_EVERY_MS));
}
await Promise.all(calls);
flushRow();

const metrics = await breaker.getMetrics();
console.log(`\nfinal state: ${showState(await breaker.getState())}`);
console.log(
  `calls: ${totals.ok} succeeded, ${totals.failed} failed, ${totals.rejected} rejected without touching the API ` +
    `(the API saw ${downstream.calls} of ${totals.ok + totals.failed + totals.rejected})`,
);
console.log(`window now: ${metrics.numberOfBufferedCalls} calls, failure rate ${metrics.failureRate}%`);
