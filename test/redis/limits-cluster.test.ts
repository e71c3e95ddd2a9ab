/**
 * Rate limiters and bulkheads on a 3-master Redis Cluster (started by the harness): policies
 * spread over every master work without CROSSSLOT or any store failure (each policy's keys share
 * one hash slot), limits hold across two stores, and a bulkhead's notice (classic pub/sub,
 * cluster-wide) wakes a waiter in another store whichever node it is subscribed on.
 */
import { Bulkhead, BulkheadFullError, RateLimiter, RequestNotPermittedError } from '@breakwater/core';
import { RedisStore } from '@breakwater/store-redis';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisClusterHandle, startRedisCluster, stopAll } from '../support/redis-harness.js';
import { captureStoreEvents, concurrencyProbe, sleep, within } from './helpers.js';

let cluster: RedisClusterHandle;
let clients: Cluster[];
let stores: RedisStore[];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  cluster = await startRedisCluster({ masters: 3 });
  clients = [cluster.cluster(), cluster.cluster()];
  for (const c of clients) c.on('error', () => {});
  stores = clients.map((client) => new RedisStore({ client, commandTimeout: 1_000 }));
}, 40_000);

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await Promise.all((stores ?? []).map((s) => s.close()));
  expect(unhandled).toEqual([]);
  await stopAll();
});

describe('on a Redis Cluster', () => {
  it('30 rate limiters and 30 bulkheads over every master: limits hold across two stores, no failure', async () => {
    const events = stores.map(captureStoreEvents);
    const limiters = Array.from({ length: 30 }, (_, i) =>
      stores.map((store) =>
        RateLimiter.of(
          `rl-${i}`,
          { limitForPeriod: 3, limitRefreshPeriod: 60_000, timeoutDuration: 0 },
          { store },
        ),
      ),
    );
    const bulkheads = Array.from({ length: 30 }, (_, i) =>
      stores.map((store) => Bulkhead.of(`bh-${i}`, { maxConcurrentCalls: 2 }, { store })),
    );
    const admittedPerLimiter = await Promise.all(
      limiters.map(async ([a, b]) => {
        const results = await Promise.allSettled(
          Array.from({ length: 6 }, (_, k) => (k % 2 === 0 ? a : b).acquirePermission()),
        );
        for (const r of results)
          if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RequestNotPermittedError);
        return results.filter((r) => r.status === 'fulfilled').length;
      }),
    );
    expect(admittedPerLimiter).toEqual(Array(30).fill(3));
    const runningPerBulkhead = await Promise.all(
      bulkheads.map(async ([a, b]) => {
        const probe = concurrencyProbe(30);
        const results = await Promise.allSettled(
          Array.from({ length: 5 }, (_, k) => (k % 2 === 0 ? a : b).execute(probe.call)),
        );
        for (const r of results)
          if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(BulkheadFullError);
        return probe.highest;
      }),
    );
    expect(runningPerBulkhead).toEqual(Array(30).fill(2));
    // the keys really are spread over the masters
    const ranges = (await clients[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const masters = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const slot = Number(await clients[0].call('CLUSTER', 'KEYSLOT', `breakwater:{rl:rl-${i}}:state`));
      const range = ranges.find(([from, to]) => from <= slot && slot <= to);
      masters.add(Number(range?.[2][1]));
    }
    expect(masters.size).toBe(3);
    for (const e of events) expect(e.types()).toEqual([]);
    for (const pair of [...limiters, ...bulkheads]) for (const p of pair) p.close();
  });

  it('a release in one store wakes a waiter in another by notice', async () => {
    const a = Bulkhead.of('cluster-notice', { maxConcurrentCalls: 1 }, { store: stores[0] });
    const b = Bulkhead.of(
      'cluster-notice',
      { maxConcurrentCalls: 1, maxWaitDuration: 5_000 },
      { store: stores[1] },
    );
    let release = () => {};
    const first = a.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await sleep(100);
    let startedAt = 0;
    const second = b.execute(async () => {
      startedAt = Date.now();
    });
    await sleep(1_300); // the waiter's subscription is up, its first timed retry has passed
    expect(startedAt).toBe(0);
    const releasedAt = Date.now();
    release();
    await first;
    await within(second, 2_000, 'the waiting call');
    expect(startedAt - releasedAt).toBeLessThan(500);
    a.close();
    b.close();
  });
});
