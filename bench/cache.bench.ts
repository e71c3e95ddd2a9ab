/**
 * Issue 14's benchmark: @breakwater/cache against bentocache (the current major), same Redis (a
 * redis-server started here), same run.
 * - L1 hit: ours `get` on a key in L1 vs bentocache's `getOrSet` on a key in its memory tier
 *   (target: ours <= 0.25x bentocache's time);
 * - L2 hit with L1 off: what each adds above a bare `GET` + `JSON.parse` on the same Redis
 *   (target: ours <= 1.0x bentocache's addition);
 * - Redis down and the cache's breaker open: a get of a key nobody has (L1 miss, Redis skipped,
 *   the loader answers) vs the same get on a cache without Redis (target: <= 2x).
 */
import { Cache, RedisCacheStore } from '@breakwater/cache';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { Redis } from 'ioredis';
import { type RedisServer, startRedis, stopAll } from '../test/support/redis-harness.js';
import { defineSuite, nsRatio, overheadRatio, unavailableUnless } from './harness.js';

const VALUE = { id: 42, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'author'] };
const loader = async () => VALUE;

let server: RedisServer | undefined;
let client: Redis;
const closers: (() => unknown)[] = [];
/** The caches measured, for the premise checks after the run. */
const ours = new Map<string, Cache<typeof VALUE>>();

async function ready(): Promise<void> {
  if (server !== undefined) return;
  server = await startRedis();
  client = server.client();
}

/** A key bentocache and we both read as a hit, and its bare JSON for the floor. */
const KEY = 'user:42';

export default defineSuite({
  description: 'read-through cache vs bentocache, loopback redis-server 7',
  unavailable: unavailableUnless(ready, 'no redis-server could be started'),
  cases: [
    {
      id: 'ours-l1',
      label: 'ours get, L1 hit',
      setup: async () => {
        const cache = Cache.of<typeof VALUE>('bench-l1', { ttlMs: 3_600_000 });
        closers.push(() => cache.close());
        ours.set('l1', cache);
        await cache.get(KEY, loader);
        return () => cache.get(KEY, loader);
      },
    },
    {
      id: 'bento-l1',
      label: 'bentocache getOrSet, L1 (memory) hit',
      setup: async () => {
        const bento = new BentoCache({
          default: 'memory',
          stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) },
        });
        closers.push(() => bento.disconnectAll());
        const options = { key: KEY, ttl: '1h', factory: loader };
        await bento.getOrSet(options);
        return () => bento.getOrSet({ key: KEY, ttl: '1h', factory: loader });
      },
    },
    {
      id: 'bare-get',
      label: 'floor: bare GET + JSON.parse',
      setup: async () => {
        await ready();
        await client.set('bench:bare', JSON.stringify(VALUE));
        return () => client.get('bench:bare').then((text) => JSON.parse(text as string) as unknown);
      },
    },
    {
      id: 'ours-l2',
      label: 'ours get, L1 off, L2 hit',
      baseline: 'bare-get',
      setup: async () => {
        await ready();
        const store = new RedisCacheStore({ client: server!.client(), keyPrefix: 'bench' });
        const cache = Cache.of<typeof VALUE>('bench-l2', {
          ttlMs: 3_600_000,
          l1: false,
          l2: store,
          l2TimeoutMs: 1_000,
        });
        closers.push(
          () => cache.close(),
          () => store.close(),
        );
        ours.set('l2', cache);
        await cache.set(KEY, VALUE);
        return () => cache.get(KEY, loader);
      },
    },
    {
      id: 'bento-l2',
      label: 'bentocache getOrSet, L2 (redis) only, hit',
      baseline: 'bare-get',
      setup: async () => {
        await ready();
        const bento = new BentoCache({
          default: 'redis',
          stores: { redis: bentostore().useL2Layer(redisDriver({ connection: server!.client() })) },
        });
        closers.push(() => bento.disconnectAll());
        await bento.set({ key: KEY, value: VALUE, ttl: '1h' });
        return () => bento.getOrSet({ key: KEY, ttl: '1h', factory: loader });
      },
    },
    {
      id: 'ours-l1-miss',
      label: 'ours get, L1 miss served by the loader (no Redis)',
      setup: () => {
        const cache = Cache.of<typeof VALUE>('bench-miss', { ttlMs: 3_600_000, l1: { maxEntries: 1_000 } });
        closers.push(() => cache.close());
        let i = 0;
        return () => cache.get(`k${i++}`, loader);
      },
    },
    {
      id: 'ours-down',
      label: 'ours get, Redis down and the breaker open, L1 miss',
      setup: async () => {
        // Nothing listens on port 1: the store's connection never comes up.
        const dead = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0 });
        dead.on('error', () => {});
        const store = new RedisCacheStore({ client: dead, keyPrefix: 'bench' });
        const cache = Cache.of<typeof VALUE>('bench-down', {
          ttlMs: 3_600_000,
          l1: { maxEntries: 1_000 },
          l2: store,
          l2TimeoutMs: 50,
        });
        closers.push(
          () => cache.close(),
          () => store.close(),
          () => dead.disconnect(),
        );
        await cache.breaker.transitionToOpenState();
        ours.set('down', cache);
        let i = 0;
        return () => cache.get(`k${i++}`, loader);
      },
    },
  ],
  ratios: [
    nsRatio('l1-vs-bento', 'L1 hit: ours / bentocache', 'ours-l1', 'bento-l1', 0.25),
    overheadRatio(
      'l2-vs-bento',
      'L2 hit, added over GET + JSON.parse: ours / bentocache',
      'ours-l2',
      'bento-l2',
      1,
    ),
    nsRatio(
      'down-vs-miss',
      'Redis down, breaker open: ours / an L1 miss served by the loader',
      'ours-down',
      'ours-l1-miss',
      2,
    ),
  ],
  verify: async () => {
    const l1 = await ours.get('l1')!.getMetrics();
    const l2 = await ours.get('l2')!.getMetrics();
    const down = ours.get('down')!;
    const d = await down.getMetrics();
    const errors = Object.values(d.l2Errors).reduce((a, b) => a + b, 0);
    return [
      {
        pass: l1.loaderCalls === 1 && l1.l1Misses === 1,
        detail: `L1: ${l1.l1Hits} hits, ${l1.l1Misses} miss, ${l1.loaderCalls} load`,
      },
      {
        pass: l2.loaderCalls === 0 && l2.l2Misses === 0 && l2.l2Hits > 0,
        detail: `L2: ${l2.l2Hits} hits, ${l2.l2Misses} misses, ${l2.loaderCalls} loads`,
      },
      {
        pass: (await down.breaker.getState()) === 'OPEN' && errors === 0 && d.l2NotPermitted > 0,
        detail: `Redis down: breaker ${await down.breaker.getState()}, ${d.l2NotPermitted} operations skipped, ${errors} tried`,
      },
    ];
  },
  teardown: async () => {
    for (const close of closers.splice(0)) await close();
    await stopAll();
    server = undefined;
  },
});
