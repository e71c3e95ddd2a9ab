/**
 * Several processes (spawnWorker) sharing one cache on one Redis: stampede protection per process
 * and, with fleetLock, per fleet; a lock holder that dies; L1 invalidation across processes.
 */
import { describe, expect, it } from 'vitest';
import { sleep, waitUntil } from '../../../test/redis/helpers.js';
import { spawnWorker, type WorkerHandle } from '../../../test/support/redis-harness.js';
import { redisForFile } from '../../../test/support/redis-suite.js';
import { Cache } from './cache.js';
import { RedisCacheStore } from './redis-cache-store.js';

type Out =
  | { type: 'ready'; pid: number }
  | { type: 'loading'; id: number }
  | { type: 'got'; id: number; values: string[]; loads: number }
  | { type: 'deleted'; id: number; ok: boolean };

const WORKER = new URL('../../../test/support/fixtures/cache-worker.ts', import.meta.url);

const redis = redisForFile();

let prefixes = 0;
async function fleet(
  size: number,
  options: object,
): Promise<{ workers: WorkerHandle<Out>[]; prefix: string }> {
  const prefix = `fleet${++prefixes}`;
  const workers = Array.from({ length: size }, () =>
    spawnWorker<Out>(WORKER, [redis.server.url, prefix, JSON.stringify(options)], {}, { timeoutMs: 20_000 }),
  );
  await Promise.all(workers.map((w) => w.waitFor((m) => m.type === 'ready')));
  return { workers, prefix };
}

let ids = 0;
function get(w: WorkerHandle<Out>, key: string, count: number, loadMs: number, value: string) {
  const id = ++ids;
  w.send({ type: 'get', id, key, count, loadMs, value });
  return {
    id,
    got: w.waitFor((m): m is Extract<Out, { type: 'got' }> => m.type === 'got' && m.id === id) as Promise<
      Extract<Out, { type: 'got' }>
    >,
  };
}

async function end(workers: readonly WorkerHandle<Out>[]): Promise<void> {
  await Promise.all(workers.map((w) => w[Symbol.asyncDispose]()));
}

describe('stampede protection across processes', () => {
  it('100 concurrent misses in each of 4 processes: one loader call per process', async () => {
    const { workers } = await fleet(4, {});
    // a key per process, so that none finds another's value in Redis: each must load it, once
    const results = await Promise.all(workers.map((w, i) => get(w, `hot${i}`, 100, 300, `from ${i}`).got));
    for (const r of results) {
      expect(r.loads).toBe(1);
      expect(new Set(r.values).size).toBe(1);
    }
    await end(workers);
  }, 60_000);

  it('with fleetLock, 100 concurrent misses in each of 4 processes make one loader call in the fleet', async () => {
    const { workers } = await fleet(4, { fleetLock: { ttlMs: 2_000, waitMs: 10_000 } });
    const results = await Promise.all(workers.map((w, i) => get(w, 'hot', 100, 300, `from ${i}`).got));
    expect(results.map((r) => r.loads).reduce((a, b) => a + b)).toBe(1);
    const values = new Set(results.flatMap((r) => r.values));
    expect(values.size).toBe(1); // every process answered with the one loaded value
    await end(workers);
  }, 60_000);

  it('when the lock holder dies, a waiter takes the lock once it expires and runs its own loader', async () => {
    const { workers } = await fleet(2, { fleetLock: { ttlMs: 300, waitMs: 10_000 } });
    const [holder, waiter] = workers;
    const hung = get(holder, 'k', 1, -1, 'never');
    hung.got.catch(() => {}); // it never answers: its process is killed
    await holder.waitFor((m) => m.type === 'loading' && m.id === hung.id);
    const started = Date.now();
    const waiting = get(waiter, 'k', 5, 10, 'from the waiter');
    await sleep(100);
    expect(waiter.messages.some((m) => m.type === 'loading' && m.id === waiting.id)).toBe(false);
    await holder.kill('SIGKILL');
    const result = await waiting.got;
    expect(result).toMatchObject({ loads: 1, values: Array(5).fill('from the waiter') });
    // the lock outlived its holder by at most its ttl (300 ms), far less than waitMs (10 s)
    expect(Date.now() - started).toBeLessThan(3_000);
    await end([waiter]);
  }, 60_000);
});

describe('L1 invalidation across processes', () => {
  it('a delete in one process drops the key from the L1 of every other process', async () => {
    const { workers, prefix } = await fleet(2, {});
    for (const w of workers) expect((await get(w, 'k', 1, 0, 'v1').got).values).toEqual(['v1']);
    // both now answer from L1, even with a loader that would give v2
    for (const w of workers) expect((await get(w, 'k', 1, 0, 'v2').got).loads).toBe(0);

    const client = redis.server.client();
    const store = new RedisCacheStore({ client, keyPrefix: prefix });
    const here = Cache.of<string>('fleet', { ttlMs: 60_000, l2: store });
    try {
      expect(await here.delete('k')).toBe(true);
      for (const w of workers) {
        await waitUntil(async () => (await get(w, 'k', 1, 0, 'v2').got).values[0] === 'v2', 5_000, 'dropped');
      }
      // and a delete from a worker reaches this process too
      await here.get('j', async () => 'j1');
      const id = ++ids;
      workers[0].send({ type: 'delete', id, key: 'j' });
      await workers[0].waitFor((m) => m.type === 'deleted' && m.id === id);
      await waitUntil(async () => (await here.get('j', async () => 'j2')) === 'j2', 5_000, 'here dropped j');
    } finally {
      here.close();
      await store.close();
      client.disconnect();
      await end(workers);
    }
  }, 60_000);
});
