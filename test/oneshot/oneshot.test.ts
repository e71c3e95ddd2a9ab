/**
 * One-shot process tests: each policy's wait runs in a real child process with nothing else alive
 * (no server, no test runner keeping the event loop busy), written with top-level await and with
 * `.then`. A wait that a caller awaits must keep the process alive until it ends, leave nothing
 * behind once it has settled, and a background timer must never hold the process. Each child
 * prints its outcome and what is still alive; the test checks the outcome, exit code 0, no
 * resource left but the child's own stdio, and that the child exits right after printing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, spawnWorker, startRedis, stopAll } from '../support/redis-harness.js';
import type { CaseName, Outcome, Report } from './fixtures/cases.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(stopAll);

const STYLES = ['top-level-await', 'then'] as const;

/** Handles of the child's own stdout/stderr (a pipe to this test, or a terminal). */
const STDIO = new Set(['PipeWrap', 'TTYWrap']);

/**
 * How long a child may take to exit after printing. A lingering timer in the cases below holds
 * it for 30 s, so the bound separates the two even on a loaded machine.
 */
const EXIT_BOUND_MS = 3_000;

const ok = (value: unknown) => (o: Outcome) => expect(o).toEqual({ value });
const failed = (name: string, message: string | RegExp) => (o: Outcome) =>
  expect(o).toEqual({ error: { name, message: expect.stringMatching(message) } });

const EXPECTED: Record<CaseName, (outcome: Outcome) => void> = {
  retry: ok('ok after 3 attempts'),
  chain: ok('ok after 3 attempts'),
  'rate-limited-batch': (o) => {
    expect(o).toEqual({ value: { done: [1, 2, 3, 4, 5], waits: expect.any(Number) } });
    // Two permits per period for five items: at least two of them waited for a later period.
    expect((o as { value: { waits: number } }).value.waits).toBeGreaterThanOrEqual(2);
  },
  'bulkhead-behind-hung-holder': failed('BulkheadFullError', /^Bulkhead 'oneshot' is full/),
  'time-limiter-hung': failed('TimeoutError', /^TimeLimiter 'oneshot' recorded a timeout after 150 ms$/),
  'bulkhead-behind-holder': ok(['holder', 'waiter']),
  'time-limiter-in-time': ok('in time'),
  'retry-aborted': failed('Error', /^the caller gave up$/),
  'rate-limiter-aborted': failed('Error', /^the caller gave up$/),
  'breaker-automatic-half-open': ok('OPEN'),
  'redis-breaker-lazy-client': ok([0, 1, 2, 2]),
  'redis-unreachable': ok('decided in-process'),
  'redis-cache': ok(['loaded', 'loaded', true]),
  'redis-cache-unreachable': ok('from the loader'),
};

/** The exit code, or 'still running' when the child has not exited within `ms` (afterAll kills it). */
async function exitWithin(exit: Promise<number>, ms: number): Promise<number | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((resolve) => {
    timer = setTimeout(resolve, ms, 'still running');
  });
  try {
    return await Promise.race([exit, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe.each(STYLES)('a one-shot script (%s)', (style) => {
  it.each(Object.keys(EXPECTED) as CaseName[])('%s: prints its outcome and exits 0 at once', async (name) => {
    const child = spawnWorker<Report>(new URL(`./fixtures/${style}.ts`, import.meta.url), [name], {
      ONESHOT_REDIS_URL: redis.url,
    });
    const printed = await child.waitFor((m) => m.type === 'result');
    EXPECTED[name](printed.outcome);
    // (A script that just disconnected from Redis still has its socket closing when it prints:
    // for those, exiting at once is the check.)
    if (!name.startsWith('redis-')) expect(printed.resources.filter((r) => !STDIO.has(r))).toEqual([]);
    expect(await exitWithin(child.exit, EXIT_BOUND_MS), child.output).toBe(0);
  });
});
