/**
 * `pnpm demo`: a flaky payments API behind a circuit breaker, on the in-process store.
 * Watch the breaker open during the outage, fail fast, probe in HALF_OPEN, and close again.
 * Finite (about 12 s) and deterministic in its story; exits 0.
 */
import { run } from './story.js';

const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);

console.log('Breakwater demo: a payments API behind a circuit breaker (in-process store)');
console.log(
  'window: last 10 calls, opens at >= 50% failures, 3 half-open probes, open wait 1.5 s then 3 s\n',
);
console.log(
  `  legend: ${paint(32, 'o')} success  ${paint(31, 'x')} failure  ${paint(90, '.')} rejected fast by the breaker;`,
);
console.log('  a transition is printed when it happens, then the result of the call it happened during\n');

const result = await run({ print: (line) => console.log(line), color });
const { totals } = result;
console.log(`\nfinal state: ${result.finalState}`);
console.log(
  `calls: ${totals.ok} succeeded, ${totals.failed} failed, ${totals.rejected} rejected without touching the API ` +
    `(the API saw ${result.apiCalls} of ${totals.ok + totals.failed + totals.rejected})`,
);
console.log(`window now: ${result.bufferedCalls} calls, failure rate ${result.failureRate}%`);
