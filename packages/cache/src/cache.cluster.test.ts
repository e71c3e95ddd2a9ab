/**
 * The cache on a real 3-master Redis Cluster: entries spread over the masters (no hash tag), and
 * everything the single-node suite checks holds: read-through and stampede protection (per process,
 * and per fleet across 4 processes), the shared tier seen by other instances, L1 invalidation
 * through pub/sub, clear on every master, grace, garbage, a master killed or paused.
 */
import { CircuitBreaker, ManualClock } from '@breakwater/core';
import type { Cluster } from 'ioredis';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { sleep, suiteLifecycle, waitUntil } from '../../../test/redis/helpers.js';
import {
  type RedisClusterHandle,
  spawnWorker,
  startRedisCluster,
} from '../../../test/support/redis-harness.js';
import { cacheFactory, L2_TIMEOUT_MS, MARGIN_MS } from './cache.test-support.js';
import { CACHE_BREAKER_CONFIG } from './cache-options.js';
import type { RedisCacheStore } from './redis-cache-store.js';

const { cleanup } = suiteLifecycle();

let cluster: RedisClusterHandle;
let admin: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  admin = cluster.cluster();
}, 60_000);

const { newStore, newCache } = cacheFactory(cleanup, () => cluster.cluster());

const keyOf = (store: RedisCacheStore, key: string) => `${store.keyPrefix}:cache:users:v1:${key}`;

describe('a cache on Redis Cluster', () => {
  it('reads through, shares entries spread over every master, and stops a stampede in the process', async () => {
    const store = newStore();
    const a = newCache<string>(store);
    const b = newCache<string>(newStore(store.keyPrefix));
    const keys = Array.from({ length: 30 }, (_, i) => `user:${i}`);
    for (const k of keys) await a.get(k, async () => `v ${k}`);
    await waitUntil(async () => (await admin.exists(keyOf(store, keys.at(-1)!))) === 1);
    const masters = new Set(await Promise.all(keys.map((k) => cluster.masterOf(keyOf(store, k)))));
    expect(masters.size).toBe(3);
    const load = vi.fn(async () => 'loaded');
    for (const k of keys) expect(await b.get(k, load)).toBe(`v ${k}`);
    expect(load).not.toHaveBeenCalled();

    let resolve!: (v: string) => void;
    const slow = vi.fn(() => new Promise<string>((r) => (resolve = r)));
    const gets = Array.from({ length: 100 }, () => a.get('hot', slow));
    await waitUntil(() => slow.mock.calls.length === 1);
    resolve('hot value');
    expect(new Set(await Promise.all(gets))).toEqual(new Set(['hot value']));
    expect(slow).toHaveBeenCalledTimes(1);
  });

  it('with fleetLock, 100 concurrent misses in each of 4 processes make one loader call', async () => {
    const prefix = 'cluster-fleet';
    const nodes = JSON.stringify(cluster.nodes);
    const options = JSON.stringify({ fleetLock: { ttlMs: 2_000, waitMs: 10_000 } });
    const worker = new URL('../../../test/support/fixtures/cache-worker.ts', import.meta.url);
    type Out = { type: string; id?: number; loads?: number; values?: string[] };
    const workers = Array.from({ length: 4 }, () =>
      spawnWorker<Out>(worker, [nodes, prefix, options], {}, { timeoutMs: 20_000 }),
    );
    cleanup.push(() => Promise.all(workers.map((w) => w[Symbol.asyncDispose]())));
    await Promise.all(workers.map((w) => w.waitFor((m) => m.type === 'ready')));
    workers.forEach((w, i) => {
      w.send({ type: 'get', id: 1, key: 'hot', count: 100, loadMs: 300, value: `from ${i}` });
    });
    const results = await Promise.all(workers.map((w) => w.waitFor((m) => m.type === 'got' && m.id === 1)));
    expect(results.map((r) => r.loads ?? 0).reduce((x, y) => x + y)).toBe(1);
    expect(new Set(results.flatMap((r) => r.values)).size).toBe(1);
  }, 60_000);

  it('delete, set and clear reach the L1 of other instances; clear empties every master', async () => {
    const store = newStore();
    const a = newCache<string>(store);
    const b = newCache<string>(newStore(store.keyPrefix));
    for (const k of ['k', 'x', 'y', 'z']) {
      await a.get(k, async () => 'v1');
      await b.get(k, async () => 'v1');
    }
    await sleep(100);
    expect(await a.delete('k')).toBe(true);
    await waitUntil(async () => (await b.get('k', async () => 'v2')) === 'v2', 2_000, 'b dropped k');
    expect(await a.set('x', 'set')).toBe(true);
    await waitUntil(async () => (await b.get('x', async () => 'loaded')) === 'set', 2_000, 'b took x');
    expect(await a.clear()).toBe(true);
    for (const k of ['k', 'x', 'y', 'z']) expect(await admin.exists(keyOf(store, k))).toBe(0);
    await waitUntil(async () => (await b.get('y', async () => 'after')) === 'after', 2_000, 'b dropped y');
  });

  it('serves a stale shared entry within grace, and reads garbage as a miss', async () => {
    const clock = new ManualClock(Date.now());
    const store = newStore();
    const a = newCache<string>(store, { clock, ttlMs: 1_000, graceMs: 60_000 });
    const b = newCache<string>(newStore(store.keyPrefix), { clock, ttlMs: 1_000, graceMs: 60_000 });
    await a.get('g', async () => 'v1');
    await waitUntil(async () => (await admin.exists(keyOf(store, 'g'))) === 1);
    clock.advance(5_000);
    await expect(
      b.get('g', async () => {
        throw new Error('db down');
      }),
    ).resolves.toBe('v1');

    await admin.set(keyOf(store, 'junk'), 'not an entry');
    await expect(b.get('junk', async () => 'loaded')).resolves.toBe('loaded');
  });

  it('a master killed: gets of its keys are answered within l2TimeoutMs and the breaker opens; paused: the same', async () => {
    const store = newStore();
    const breaker = CircuitBreaker.of('cache:cluster', {
      ...CACHE_BREAKER_CONFIG,
      waitDurationInOpenState: 60_000,
    });
    const c = newCache<string>(store, { breaker });
    await c.get('warm', async () => 'up');
    // keys served by master 0
    const keys: string[] = [];
    for (let i = 0; keys.length < 12; i++) {
      if ((await cluster.masterOf(keyOf(store, `k${i}`))) === 0) keys.push(`k${i}`);
    }
    await cluster.killNode(0);
    try {
      for (const k of keys) {
        const start = performance.now();
        expect(await c.get(k, async () => `db ${k}`)).toBe(`db ${k}`);
        expect(performance.now() - start).toBeLessThan(L2_TIMEOUT_MS + MARGIN_MS);
      }
      expect(await breaker.getState()).toBe('OPEN');
    } finally {
      await cluster.restartNode(0);
    }

    const pausedStore = newStore();
    const paused = newCache<string>(pausedStore, {
      breaker: CircuitBreaker.of('cache:cluster-paused', CACHE_BREAKER_CONFIG),
    });
    await paused.get('warm', async () => 'up');
    const pausedKeys: string[] = [];
    for (let i = 0; pausedKeys.length < 8; i++) {
      if ((await cluster.masterOf(keyOf(pausedStore, `p${i}`))) === 1) pausedKeys.push(`p${i}`);
    }
    await cluster.servers[1].pause();
    try {
      for (const k of pausedKeys) {
        const start = performance.now();
        expect(await paused.get(k, async () => 'db')).toBe('db');
        expect(performance.now() - start).toBeLessThan(L2_TIMEOUT_MS + MARGIN_MS);
      }
      await waitUntil(async () => (await paused.breaker.getState()) === 'OPEN', 2_000, 'opened');
    } finally {
      await cluster.servers[1].resume();
    }
  }, 60_000);
});
