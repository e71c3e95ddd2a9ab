/**
 * Fleet: four worker processes (./fixtures/limits-worker.ts), each with its own RedisStore and
 * connection, share one rate limiter or one bulkhead on one redis-server.
 *
 * - Rate limiter, fixed window: no period (aligned to the epoch on Redis's clock, which is this
 *   machine's clock) admits more than N across the fleet. Each admission is known to lie between
 *   the worker's clock readings before and after its acquire; those wholly inside one period are
 *   counted for it, and the total is bounded by N times the periods the run touched.
 * - Rate limiter, GCRA: no window of one period, wherever it starts, holds more than N admissions.
 * - Both runs are saturated (far more demand than permits), so the bounds are reached, not idle.
 * - Bulkhead: calls running at once across the fleet never exceed M (counted in Redis by the calls
 *   themselves, and from their reported start/end times), and M is reached.
 * - A process SIGKILLed while holding every slot loses them when their lease runs out, not before;
 *   a waiting process then gets them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerHandle } from '../support/redis-harness.js';
import { redisForFile } from '../support/redis-suite.js';

const WORKER = 'test/redis/fixtures/limits-worker.ts';
const FLEET = 4;

interface Message {
  readonly type: string;
  readonly [key: string]: unknown;
}
interface Done {
  readonly admitted: [number, number][];
  readonly rejected: number;
  readonly unexpected: string[];
}

const redis = redisForFile();
/** The fleet, shared by the tests (each sets up its own policy on every worker). */
let workers: WorkerHandle<Message>[];
const everyWorker: WorkerHandle<Message>[] = [];

beforeAll(async () => {
  workers = await spawn(FLEET);
});

afterAll(async () => {
  for (const w of everyWorker) {
    expect(w.messages.filter((m) => m.type === 'unhandled' || m.type === 'unexpected')).toEqual([]);
  }
});

async function spawn(n: number): Promise<WorkerHandle<Message>[]> {
  const workers = Array.from({ length: n }, () =>
    spawnWorker<Message>(WORKER, [redis.server.url], {}, { timeoutMs: 15_000 }),
  );
  everyWorker.push(...workers);
  await Promise.all(workers.map((w) => w.waitFor((m) => m.type === 'started-process')));
  return workers;
}

async function ask(
  w: WorkerHandle<Message>,
  message: Message,
  reply: string,
  timeoutMs?: number,
): Promise<Message> {
  const answer = w.next((m) => m.type === reply, timeoutMs);
  w.send(message);
  return answer;
}

/** Every worker runs `lanes` lanes of calls for `durationMs`, starting together; their reports. */
async function runAll(
  workers: WorkerHandle<Message>[],
  lanes: number,
  durationMs: number,
  callMs = 0,
): Promise<{ start: number; until: number; admitted: [number, number][]; rejected: number }> {
  const start = Date.now() + 200;
  const until = start + durationMs;
  await new Promise((resolve) => setTimeout(resolve, 200));
  const reports = (await Promise.all(
    workers.map((w) => ask(w, { type: 'run', lanes, until, callMs }, 'done', durationMs + 10_000)),
  )) as unknown as Done[];
  for (const r of reports) expect(r.unexpected).toEqual([]);
  return {
    start,
    until,
    admitted: reports.flatMap((r) => r.admitted),
    rejected: reports.reduce((sum, r) => sum + r.rejected, 0),
  };
}

describe('a fleet shares one rate limiter', () => {
  it('fixed window: at most N per period across all workers', async () => {
    const N = 25;
    const PERIOD = 1_000;
    const config = { limitForPeriod: N, limitRefreshPeriod: PERIOD, timeoutDuration: 0 };
    await Promise.all(workers.map((w) => ask(w, { type: 'limiter', name: 'fleet-fixed', config }, 'ready')));
    const run = await runAll(workers, 4, 3_200);
    const perPeriod = new Map<number, number>();
    let straddling = 0;
    for (const [s, e] of run.admitted) {
      const c = Math.floor(s / PERIOD);
      if (c !== Math.floor(e / PERIOD)) {
        straddling++;
        continue;
      }
      perPeriod.set(c, (perPeriod.get(c) ?? 0) + 1);
    }
    const first = Math.floor(Math.min(...run.admitted.map(([s]) => s)) / PERIOD);
    const last = Math.floor(Math.max(...run.admitted.map(([, e]) => e)) / PERIOD);
    const fullPeriods = Math.floor(run.until / PERIOD) - Math.ceil(run.start / PERIOD);
    console.info(
      `fixed window: ${run.admitted.length} admitted (${straddling} across a boundary), ${run.rejected} refused; per period ${JSON.stringify([...perPeriod.values()])}`,
    );
    for (const [c, count] of perPeriod) expect(count, `period ${c}`).toBeLessThanOrEqual(N);
    expect(run.admitted.length).toBeLessThanOrEqual(N * (last - first + 1));
    // saturated: every period wholly inside the run gave out all N
    expect(run.admitted.length).toBeGreaterThanOrEqual(N * fullPeriods);
    expect(run.rejected).toBeGreaterThan(run.admitted.length);
  }, 15_000);

  it('GCRA: at most N in any window of one period, wherever it starts', async () => {
    const N = 20;
    const PERIOD = 1_000;
    const config = {
      algorithm: 'gcra' as const,
      limitForPeriod: N,
      limitRefreshPeriod: PERIOD,
      timeoutDuration: 0,
    };
    await Promise.all(workers.map((w) => ask(w, { type: 'limiter', name: 'fleet-gcra', config }, 'ready')));
    const run = await runAll(workers, 4, 3_000);
    const admitted = [...run.admitted].sort((a, b) => a[0] - b[0]);
    let busiest = 0;
    for (const [from] of admitted) {
      // admissions known to lie in [from, from + PERIOD)
      const inside = admitted.filter(([s, e]) => s >= from && e < from + PERIOD).length;
      busiest = Math.max(busiest, inside);
    }
    console.info(`GCRA: ${admitted.length} admitted, ${run.rejected} refused; busiest window ${busiest}`);
    expect(busiest).toBeLessThanOrEqual(N);
    // saturated: about one permit per emission interval over the run
    expect(admitted.length).toBeGreaterThanOrEqual(Math.floor((3_000 / PERIOD) * N * 0.7));
    expect(admitted.length).toBeLessThanOrEqual(Math.ceil((3_000 / PERIOD) * N) + 1);
  }, 15_000);
});

describe('a fleet shares one bulkhead', () => {
  it('calls running at once across all workers never exceed M, and reach it', async () => {
    const M = 3;
    const name = 'fleet-bulkhead';
    const config = { maxConcurrentCalls: M, maxWaitDuration: 500 };
    await Promise.all(workers.map((w) => ask(w, { type: 'bulkhead', name, config }, 'ready')));
    const run = await runAll(workers, 3, 3_000, 15);
    const highWater = Number(await redis.client.get(`fleet:${name}:max`));
    // from the reported intervals: the most that overlap at any start
    let overlap = 0;
    for (const [s] of run.admitted) {
      overlap = Math.max(overlap, run.admitted.filter(([a, b]) => a <= s && s < b).length);
    }
    console.info(
      `bulkhead: ${run.admitted.length} calls, ${run.rejected} refused; high-water ${highWater} (Redis), ${overlap} (intervals)`,
    );
    expect(highWater).toBe(M);
    expect(overlap).toBeLessThanOrEqual(M);
    expect(Number(await redis.client.get(`fleet:${name}:inflight`))).toBe(0);
    expect(run.admitted.length).toBeGreaterThan(100);
  }, 15_000);

  it('a process killed while holding every slot loses them after its lease, and a waiter gets one', async () => {
    const M = 2;
    const LEASE_MS = 1_000;
    const name = 'fleet-dead';
    const [holder] = await spawn(1);
    const waiter = workers[0];
    const config = { maxConcurrentCalls: M, maxWaitDuration: 4_000 };
    await Promise.all(
      [holder, waiter].map((w) => ask(w, { type: 'bulkhead', name, config, leaseMs: LEASE_MS }, 'ready')),
    );
    await ask(holder, { type: 'hold', n: M }, 'holding');
    // the holder renews its leases: two lease periods later, nothing has been reclaimed
    await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_MS));
    expect(await redis.client.zcard(`breakwater:{bh:${name}}:leases`)).toBe(M);
    const waiting = ask(waiter, { type: 'run', lanes: 1, until: Date.now() + 100, callMs: 1 }, 'done');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await holder.kill('SIGKILL');
    const killedAt = Date.now();
    const done = (await waiting) as unknown as Done;
    expect(done.unexpected).toEqual([]);
    expect(done.admitted).toHaveLength(1);
    const waited = done.admitted[0][0] - killedAt;
    console.info(
      `bulkhead: a dead process's slot came back ${waited} ms after the kill (lease ${LEASE_MS} ms)`,
    );
    // not before its last renewal's lease ran out (renewed every third of it), nor much after
    expect(waited).toBeGreaterThanOrEqual((2 * LEASE_MS) / 3 - 50);
    expect(waited).toBeLessThan(LEASE_MS + 1_500);
  }, 15_000);
});
