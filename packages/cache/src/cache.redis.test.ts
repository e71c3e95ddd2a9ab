/**
 * The cache on a real Redis (a redis-server of its own, see test/support/redis-harness.ts):
 * read-through through both tiers, the shared tier seen by other instances (each with its own
 * client, as other processes would have), L1 invalidation through pub/sub, values, garbage, and a
 * Redis that dies or hangs under the cache.
 */
import { CircuitBreaker, ManualClock } from '@breakwater/core';
import { alerts, eventsOf } from '@breakwater/events';
import { RedisStore } from '@breakwater/store-redis';
import type { Redis } from 'ioredis';
import { lastValueFrom, Subject, takeUntil, toArray } from 'rxjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { sleep, suiteLifecycle, waitUntil } from '../../../test/redis/helpers.js';
import { type RedisServer, startRedis } from '../../../test/support/redis-harness.js';
import { cacheFactory, L2_TIMEOUT_MS, MARGIN_MS, recorder } from './cache.test-support.js';
import { CACHE_BREAKER_CONFIG } from './cache-options.js';
import type { RedisCacheStore } from './redis-cache-store.js';

const { cleanup } = suiteLifecycle();

let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await startRedis();
  admin = server.client();
});

const { newStore: storeOn, newCache } = cacheFactory(cleanup, () => server.client());
/** A store on `server_` (default: the suite's Redis). */
function newStore(server_: RedisServer = server, keyPrefix?: string): RedisCacheStore {
  return storeOn(keyPrefix, server_.client());
}

/** A breaker with the cache defaults but a short open wait, so that a test sees it close. */
const quickBreaker = (name: string, waitMs = 300) =>
  CircuitBreaker.of(name, { ...CACHE_BREAKER_CONFIG, waitDurationInOpenState: waitMs });

/** Times one get. */
async function timed<T>(get: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await get();
  return { value, ms: performance.now() - start };
}

describe('read-through over both tiers', () => {
  it('a miss loads once and writes back to Redis; another instance reads it from Redis, then from its L1', async () => {
    const store = newStore();
    const a = newCache<{ id: string }>(store);
    const b = newCache<{ id: string }>(newStore(server, store.keyPrefix));
    const load = vi.fn(async () => ({ id: '42' }));
    expect(await a.get('user:42', load)).toEqual({ id: '42' });
    const raw = await waitUntil(() => admin.get(`${store.keyPrefix}:cache:users:v1:user:42`));
    expect(raw).toMatch(/^bw1\|\d+\|\d+\|\d+\|v\{"id":"42"\}$/);
    expect(await admin.pttl(`${store.keyPrefix}:cache:users:v1:user:42`)).toBeGreaterThan(59_000);

    const events = recorder(b);
    expect(await b.get('user:42', load)).toEqual({ id: '42' });
    expect(await b.get('user:42', load)).toEqual({ id: '42' });
    expect(load).toHaveBeenCalledTimes(1);
    expect(events.map((e) => `${e.type} ${'tier' in e ? e.tier : ''}`)).toEqual([
      'MISS l1',
      'HIT l2',
      'HIT l1',
    ]);
    expect(await b.getMetrics()).toMatchObject({
      l1Hits: 1,
      l1Misses: 1,
      l2Hits: 1,
      l2Misses: 0,
      loaderCalls: 0,
    });
  });

  it('without L1 every get reads Redis; null and undefined come back as themselves', async () => {
    const store = newStore();
    const writer = newCache<string | null | undefined>(store);
    const reader = newCache<string | null | undefined>(newStore(server, store.keyPrefix), { l1: false });
    await writer.get('null', async () => null);
    await writer.get('undefined', async () => undefined);
    await writer.get('text', async () => 'null');
    await waitUntil(async () => (await admin.exists(`${store.keyPrefix}:cache:users:v1:text`)) === 1);
    const load = vi.fn(async () => 'loaded');
    expect(await reader.get('null', load)).toBeNull();
    expect(await reader.get('undefined', load)).toBeUndefined();
    expect(await reader.get('text', load)).toBe('null');
    expect(await reader.get('null', load)).toBeNull();
    expect(load).not.toHaveBeenCalled();
    expect(await reader.getMetrics()).toMatchObject({ l2Hits: 4, l1Hits: 0 });
  });

  it('a stale shared entry answers within grace when the loader fails', async () => {
    const clock = new ManualClock(Date.now());
    const store = newStore();
    const a = newCache<string>(store, { clock, ttlMs: 1_000, graceMs: 60_000 });
    const b = newCache<string>(newStore(server, store.keyPrefix), { clock, ttlMs: 1_000, graceMs: 60_000 });
    await a.get('k', async () => 'v1');
    await waitUntil(async () => (await admin.exists(`${store.keyPrefix}:cache:users:v1:k`)) === 1);
    clock.advance(5_000);
    const events = recorder(b);
    await expect(
      b.get('k', async () => {
        throw new Error('db down');
      }),
    ).resolves.toBe('v1');
    expect(events.map((e) => e.type)).toEqual(['MISS', 'MISS', 'LOADER_ERROR', 'STALE_SERVED']);
  });

  it('bumping the version leaves the older entries behind', async () => {
    const store = newStore();
    const v1 = newCache<string>(store, { version: 1 });
    await v1.get('k', async () => 'old');
    await waitUntil(async () => (await admin.exists(`${store.keyPrefix}:cache:users:v1:k`)) === 1);
    const v2 = newCache<string>(newStore(server, store.keyPrefix), { version: 2 });
    await expect(v2.get('k', async () => 'new')).resolves.toBe('new');
  });

  it('a value larger than maxValueBytes is returned and cached nowhere', async () => {
    const store = newStore();
    const c = newCache<string>(store, { maxValueBytes: 100 });
    const events = recorder(c);
    const load = vi.fn(async () => 'é'.repeat(60)); // 120 bytes of UTF-8
    expect(await c.get('big', load)).toHaveLength(60);
    expect(await c.get('big', load)).toHaveLength(60);
    expect(load).toHaveBeenCalledTimes(2);
    expect(events.find((e) => e.type === 'VALUE_TOO_LARGE')).toMatchObject({ maxValueBytes: 100 });
    expect(await admin.exists(`${store.keyPrefix}:cache:users:v1:big`)).toBe(0);
  });

  it('a slow write-back never delays the caller: it is counted and published', async () => {
    const store = newStore();
    const c = newCache<string>(store);
    await c.get('warm', async () => 'up');
    const events = recorder(c);
    await server.command('CLIENT', 'PAUSE', '400', 'WRITE'); // reads are served, writes wait
    const { value, ms } = await timed(() => c.get('k', async () => 'v'));
    expect(value).toBe('v');
    expect(ms).toBeLessThan(L2_TIMEOUT_MS);
    const failed = await waitUntil(() => events.find((e) => e.type === 'WRITE_BACK_FAILED'), 2_000);
    expect(failed).toMatchObject({ key: 'k', errorType: 'timeout' });
    expect(await c.getMetrics()).toMatchObject({ writeBackFailures: 1 });
    await sleep(400);
  });
});

describe('L1 invalidation across instances', () => {
  it('delete, set and clear through one instance drop the key from the L1 of the others with that name and prefix', async () => {
    const store = newStore();
    const a = newCache<string>(store);
    const b = newCache<string>(newStore(server, store.keyPrefix));
    const sameProcess = newCache<string>(store);
    const otherPrefix = newCache<string>(newStore(server));
    const otherName = newCache<string>(newStore(server, store.keyPrefix), {}, 'orders');
    const otherVersion = newCache<string>(newStore(server, store.keyPrefix), { version: 2 });
    const all = [a, b, sameProcess, otherPrefix, otherName, otherVersion];
    for (const c of all) await c.get('k', async () => 'v1');
    // the subscriptions are asynchronous: wait until a message reaches b
    await sleep(100);

    expect(await a.delete('k')).toBe(true);
    await waitUntil(async () => (await b.get('k', async () => 'v2')) === 'v2', 2_000, 'b dropped k');
    await waitUntil(async () => (await sameProcess.get('k', async () => 'v2')) === 'v2', 2_000);
    for (const kept of [otherPrefix, otherName, otherVersion]) {
      expect(await kept.get('k', async () => 'v2')).toBe('v1');
    }

    expect(await a.set('k', 'v3')).toBe(true);
    await waitUntil(async () => (await b.get('k', async () => 'loaded')) === 'v3', 2_000, 'b took v3');

    await a.get('other', async () => 'x');
    await b.get('other', async () => 'x');
    expect(await a.clear()).toBe(true);
    expect(await admin.keys(`${store.keyPrefix}:cache:users:*`)).toEqual([]);
    await waitUntil(async () => (await b.get('other', async () => 'after clear')) === 'after clear', 2_000);
  });

  it('a message that is not ours on the channel is ignored', async () => {
    const store = newStore();
    const c = newCache<string>(store);
    await c.get('k', async () => 'v1');
    await sleep(50);
    for (const junk of ['not json', '{"op":"del"}', '{"o":"x","v":"1","op":"del","k":[1]}', 'null']) {
      await admin.publish(store.channel('users'), junk);
    }
    await sleep(50);
    expect(await c.get('k', async () => 'v2')).toBe('v1');
  });
});

describe('garbage in a cache key', () => {
  it('is a miss, never an error: the loader answers and its value replaces the garbage', async () => {
    const store = newStore();
    const c = newCache<{ n: number }>(store, { l1: false });
    const events = recorder(c);
    const key = (k: string) => `${store.keyPrefix}:cache:users:v1:${k}`;
    await admin.set(key('plain'), 'hello');
    await admin.set(key('json'), 'bw1|1|2|9999999999999|v{broken');
    await admin.set(key('times'), 'bw1|9|2|1|v{}');
    await admin.hset(key('hash'), 'a', 'b'); // GET answers WRONGTYPE
    for (const k of ['plain', 'json', 'times', 'hash']) {
      await expect(c.get(k, async () => ({ n: 1 }))).resolves.toEqual({ n: 1 });
    }
    expect(events.filter((e) => e.type === 'ENTRY_UNREADABLE').map((e) => e.key)).toEqual([
      'plain',
      'json',
      'times',
    ]);
    expect(events.find((e) => e.type === 'L2_ERROR')).toMatchObject({ key: 'hash', errorType: 'reply' });
    // an error reply is an answer: the breaker counted no failure
    expect((await c.breaker.getMetrics()).numberOfFailedCalls).toBe(0);
    await waitUntil(async () => (await admin.get(key('plain')))?.startsWith('bw1|'), 2_000);
    await expect(c.get('plain', async () => ({ n: 2 }))).resolves.toEqual({ n: 1 });
  });
});

describe('when Redis fails', () => {
  it('killed: gets are answered by the loader within l2TimeoutMs, the breaker opens, then gets skip Redis; it closes once Redis is back', async () => {
    const own = await startRedis();
    const store = newStore(own);
    const breaker = quickBreaker('cache:killed');
    const c = newCache<string>(store, { breaker });
    const stream = new Subject<void>();
    const collected = lastValueFrom(
      eventsOf(c).pipe(takeUntil(stream), alerts({ cooldownMs: 60_000, maxKeys: 6 }), toArray()),
    );
    await c.get('warm', async () => 'up');
    await own.kill();

    for (let i = 0; i < 12; i++) {
      const { value, ms } = await timed(() => c.get(`user:${i}`, async () => `db ${i}`));
      expect(value).toBe(`db ${i}`);
      expect(ms).toBeLessThan(L2_TIMEOUT_MS + MARGIN_MS);
    }
    expect(await breaker.getState()).toBe('OPEN');
    const opened = await c.getMetrics();
    expect(opened.l2Errors.connection).toBeGreaterThanOrEqual(10);
    expect(opened.l2NotPermitted).toBeGreaterThan(0);
    // OPEN: the tier is not even asked
    await c.get('user:99', async () => 'db 99');
    const skipped = await c.getMetrics();
    expect(skipped.l2Errors.connection).toBe(opened.l2Errors.connection);
    expect(skipped.l2NotPermitted).toBeGreaterThan(opened.l2NotPermitted);

    await own.restart();
    await sleep(400); // the breaker's open wait
    await waitUntil(
      async () => {
        await c.get(`probe:${Date.now()}`, async () => 'db');
        return (await breaker.getState()) === 'CLOSED';
      },
      5_000,
      'the breaker closed after Redis came back',
      50,
    );
    stream.next();
    const raised = await collected;
    const keys = raised.filter((a) => a.type === 'CACHE_ERROR').map((a) => a.key);
    expect(new Set(keys).size).toBe(keys.length); // one per key per cooldown
    expect(keys.length).toBeLessThanOrEqual(6);
    expect(raised.at(-1)).toMatchObject({ type: 'SUPPRESSED' });
  });

  it('paused (answers nothing): gets are answered within l2TimeoutMs, then no longer wait once the breaker is open', async () => {
    const own = await startRedis();
    const store = newStore(own);
    const breaker = quickBreaker('cache:paused', 60_000);
    const c = newCache<string>(store, { breaker });
    await c.get('warm', async () => 'up');
    await own.pause();
    try {
      const waits: number[] = [];
      for (let i = 0; i < 8; i++) {
        const { value, ms } = await timed(() => c.get(`user:${i}`, async () => `db ${i}`));
        expect(value).toBe(`db ${i}`);
        expect(ms).toBeLessThan(L2_TIMEOUT_MS + MARGIN_MS);
        waits.push(ms);
      }
      // the first gets waited for the tier: a read that timed out
      expect(waits[0]).toBeGreaterThanOrEqual(L2_TIMEOUT_MS - 5);
      await waitUntil(async () => (await breaker.getState()) === 'OPEN', 2_000, 'the breaker opened');
      for (let i = 0; i < 5; i++) {
        const { ms } = await timed(() => c.get(`after:${i}`, async () => 'db'));
        expect(ms).toBeLessThan(L2_TIMEOUT_MS / 2);
      }
      expect((await c.getMetrics()).l2Errors.timeout).toBeGreaterThanOrEqual(10);
    } finally {
      await own.resume();
    }
  });

  it('delete and clear report that the shared tier could not be reached, and drop the local copy', async () => {
    const own = await startRedis();
    const store = newStore(own);
    const c = newCache<string>(store, { breaker: quickBreaker('cache:down') });
    await c.get('k', async () => 'v1');
    await own.kill();
    expect(await c.delete('k')).toBe(false);
    expect(await c.clear()).toBe(false);
    await expect(c.get('k', async () => 'v2')).resolves.toBe('v2');
  });

  it('a breaker on a RedisStore is shared: one instance’s failures make the others skip Redis too', async () => {
    const guardRedis = await startRedis(); // where the breaker's state lives (it stays up)
    const cacheRedis = await startRedis(); // the cache tier (it dies)
    const guardStore = (name: string) => {
      const client = guardRedis.client();
      const store = new RedisStore({ client, keyPrefix: 'guard', processId: name });
      cleanup.push(() => client.disconnect());
      cleanup.push(() => store.close());
      return store;
    };
    const breakerOf = (store: RedisStore) =>
      CircuitBreaker.of(
        'cache:users',
        { ...CACHE_BREAKER_CONFIG, waitDurationInOpenState: 60_000 },
        { store },
      );
    const cacheStore = newStore(cacheRedis);
    const a = newCache<string>(cacheStore, { breaker: breakerOf(guardStore('a')) });
    const b = newCache<string>(newStore(cacheRedis, cacheStore.keyPrefix), {
      breaker: breakerOf(guardStore('b')),
    });
    await a.get('warm', async () => 'up');
    await b.get('warm2', async () => 'up');
    const warmed = cacheRedis.client();
    await waitUntil(async () => (await warmed.exists(`${cacheStore.keyPrefix}:cache:users:v1:warm2`)) === 1);
    warmed.disconnect();
    await cacheRedis.kill();
    for (let i = 0; i < 12; i++) await a.get(`a:${i}`, async () => 'db');
    expect(await a.breaker.getState()).toBe('OPEN');
    // b never failed itself, yet it does not try Redis
    await b.get('b:1', async () => 'db');
    const m = await b.getMetrics();
    expect(m.l2NotPermitted).toBeGreaterThan(0);
    expect(m.l2Errors.connection).toBe(0);
  });
});
