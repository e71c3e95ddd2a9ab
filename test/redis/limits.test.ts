/**
 * The rate limiter and the bulkhead on a RedisStore against real redis-servers (started by the
 * harness): sharing between stores (each store stands for a process), Redis TIME as the clock,
 * key layout, idle expiry and memory, garbage in keys, SCRIPT FLUSH, bulkhead leases (reclaim on
 * expiry, renewal of long calls), notices to waiting processes, the failure policies and close().
 * The multi-process versions are in limits-fleet.test.ts.
 */
import {
  Bulkhead,
  type BulkheadConfig,
  BulkheadFullError,
  ConfigError,
  type RateLimiterConfig,
  RequestNotPermittedError,
} from '@breakwater/core';
import { RedisStore, type RedisStoreOptions, type StoreFailurePolicy } from '@breakwater/store-redis';
import type { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../support/redis-harness.js';
import { BREAKER_COMMANDS, restrictedUser } from './acl.js';
import { captureStoreEvents, concurrencyProbe, redisSuite, sleep, waitUntil, within } from './helpers.js';

const redis = redisSuite();
const { store, limiter, bulkhead } = redis;

const rlKey = (name: string, prefix = 'breakwater') => `${prefix}:{rl:${name}}:state`;
const bhKey = (name: string, prefix = 'breakwater') => `${prefix}:{bh:${name}}:leases`;

/** Redis TIME in epoch ms. */
async function redisTime(): Promise<number> {
  const [s, us] = (await redis.client.time()) as unknown as [string | number, string | number];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** Milliseconds until the next period of `period` ms starts on the Redis clock. */
async function untilNextPeriod(period: number): Promise<number> {
  return period - ((await redisTime()) % period);
}

/** Settles every promise, counting fulfilments. */
async function admitted(calls: Promise<unknown>[]): Promise<number> {
  const results = await Promise.allSettled(calls);
  for (const r of results) {
    if (
      r.status === 'rejected' &&
      !(r.reason instanceof RequestNotPermittedError) &&
      !(r.reason instanceof BulkheadFullError)
    ) {
      throw r.reason;
    }
  }
  return results.filter((r) => r.status === 'fulfilled').length;
}

/** A call that holds its slot until `release()`. */
function gate(): { promise: Promise<void>; release(): void } {
  let release = () => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

/**
 * A call through `bh` that holds its slot until `release()` (which resolves once the call is done),
 * started and its lease seen in Redis (through `client`).
 */
async function heldSlot(bh: Bulkhead, client: Redis, what: string): Promise<{ release(): Promise<void> }> {
  const held = gate();
  const running = bh.execute(() => held.promise);
  await waitUntil(async () => (await client.zcard(bhKey(bh.name))) === 1, 1_000, what);
  return {
    release: () => {
      held.release();
      return running;
    },
  };
}

describe('options', () => {
  it('bulkheadLeaseMs: default a minute; a whole number of ms, at least 30', () => {
    expect(store().options.bulkheadLeaseMs).toBe(60_000);
    expect(store({ bulkheadLeaseMs: 5_000 }).options.bulkheadLeaseMs).toBe(5_000);
    for (const bad of [0, 29, 1.5, '1000', Number.POSITIVE_INFINITY]) {
      expect(() => new RedisStore({ client: redis.client, bulkheadLeaseMs: bad as number })).toThrow(
        ConfigError,
      );
    }
  });
});

describe('rate limiter on Redis', () => {
  it.each([
    ['fixed-window', 5],
    // no burst tolerance: the permits of a period are spread over it
    ['gcra', 1],
  ] as const)(
    '%s: two stores share one limit, whatever their clocks say (%i of 16 at once)',
    async (algorithm, expected) => {
      const name = `shared-${algorithm}`;
      const config: RateLimiterConfig = {
        algorithm,
        limitForPeriod: 5,
        limitRefreshPeriod: 2_000,
        timeoutDuration: 0,
      };
      // Callers' clocks far apart: Redis TIME decides, so they still share one period.
      const a = limiter(name, config, store(), { now: () => Date.now() - 3_600_000 });
      const b = limiter(name, config, store(), { now: () => Date.now() + 3_600_000 });
      if (algorithm === 'fixed-window') await sleep((await untilNextPeriod(2_000)) + 5);
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 8; i++) calls.push(a.acquirePermission(), b.acquirePermission());
      expect(await admitted(calls)).toBe(expected);
      const refused = await a.acquirePermission().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RequestNotPermittedError);
      expect((refused as RequestNotPermittedError).retryAfterMs).toBeGreaterThan(0);
      expect((refused as RequestNotPermittedError).retryAfterMs).toBeLessThanOrEqual(2_000);
      expect((await b.getMetrics()).availablePermissions).toBeLessThanOrEqual(0);
    },
  );

  it('a waiting caller holds a reservation every store sees; its abort gives the permits back', async () => {
    const name = 'reserve';
    // a long period, of which at least 3 s are left: a busy machine must not reach the next one first
    const config: RateLimiterConfig = {
      limitForPeriod: 2,
      limitRefreshPeriod: 6_000,
      timeoutDuration: 10_000,
    };
    const a = limiter(name, config, store());
    const b = limiter(name, config, store());
    const left = await untilNextPeriod(6_000);
    if (left < 3_000) await sleep(left + 5);
    await a.acquirePermission(2);
    const abort = new AbortController();
    const waiting = a.acquirePermission(2, abort.signal);
    await waitUntil(async () => (await b.getMetrics()).availablePermissions === -2, 1_000, 'the reservation');
    abort.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    await waitUntil(async () => (await b.getMetrics()).availablePermissions === 0, 1_000, 'the permits back');
  });

  it('drainPermissions takes what is left for everyone', async () => {
    const config: RateLimiterConfig = { limitForPeriod: 10, limitRefreshPeriod: 5_000, timeoutDuration: 0 };
    const a = limiter('drain', config, store());
    const b = limiter('drain', config, store());
    await sleep((await untilNextPeriod(5_000)) + 5);
    await a.acquirePermission(3);
    expect(await b.drainPermissions()).toBe(7);
    await expect(a.acquirePermission()).rejects.toBeInstanceOf(RequestNotPermittedError);
  });

  it.each([
    ['fixed-window', /^F \d+ \d+$/],
    ['gcra', /^G [\d.e+]+$/],
  ] as const)(
    '%s: one small string key, deleted once the state is as good as fresh',
    async (algorithm, shape) => {
      const name = `key-${algorithm}`;
      const rl = limiter(
        name,
        { algorithm, limitForPeriod: 100, limitRefreshPeriod: 300, timeoutDuration: 1_000 },
        store({ keyPrefix: 'acme' }),
      );
      for (let i = 0; i < 50; i++) await rl.acquirePermission();
      expect(await redis.client.keys('acme:*')).toEqual([rlKey(name, 'acme')]);
      const value = await redis.client.get(rlKey(name, 'acme'));
      expect(value).toMatch(shape);
      const ttl = await redis.client.pttl(rlKey(name, 'acme'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
      const bytes = Number(await redis.client.call('MEMORY', 'USAGE', rlKey(name, 'acme'), 'SAMPLES', '0'));
      console.info(`MEMORY USAGE, rate limiter (${algorithm}): ${bytes} bytes (${JSON.stringify(value)})`);
      expect(bytes).toBeLessThanOrEqual(128);
      await waitUntil(async () => (await redis.client.exists(rlKey(name, 'acme'))) === 0, 1_000, 'expiry');
      expect((await rl.getMetrics()).availablePermissions).toBe(100);
    },
  );

  it.each<[string, (key: string) => Promise<unknown>, RegExp]>([
    ['a hash', async (key) => redis.client.multi().del(key).hset(key, 'permissions', '5').exec(), /hash/],
    ['text', (key) => redis.client.set(key, 'lots of permits'), /not a rate limiter state/],
    ['a fractional cycle', (key) => redis.client.set(key, 'F 1.5 3'), /fixed-window/],
    ['a GCRA time that is not a number', (key) => redis.client.set(key, 'G soon'), /GCRA/],
    ['infinite permissions', (key) => redis.client.set(key, 'F 1 inf'), /fixed-window/],
  ])(
    'garbage (%s) resets the limiter with a STATE_RESET event; callers see no error',
    async (_what, write, reason) => {
      const algorithm = _what.includes('GCRA') ? 'gcra' : 'fixed-window';
      const name = `garbage-${_what.replaceAll(' ', '-')}`;
      const s = store();
      const events = captureStoreEvents(s);
      const rl = limiter(
        name,
        { algorithm, limitForPeriod: 3, limitRefreshPeriod: 60_000, timeoutDuration: 0 },
        s,
      );
      await rl.acquirePermission();
      await write(rlKey(name));
      await rl.acquirePermission();
      // one permit taken from a fresh state (GCRA: the next comes one interval later)
      expect((await rl.getMetrics()).availablePermissions).toBe(algorithm === 'gcra' ? 0 : 2);
      const resets = events.events.filter((e) => e.type === 'STATE_RESET');
      expect(resets).toHaveLength(1);
      expect(resets[0]).toMatchObject({ policy: `rateLimiter:${name}` });
      expect((resets[0] as { reason: string }).reason).toMatch(reason);
    },
  );

  it('works on after SCRIPT FLUSH', async () => {
    const rl = limiter(
      'flush',
      { limitForPeriod: 1_000, limitRefreshPeriod: 60_000, timeoutDuration: 0 },
      store(),
    );
    await rl.acquirePermission();
    await redis.server.flushScripts();
    await rl.acquirePermission();
    expect((await rl.getMetrics()).availablePermissions).toBeLessThanOrEqual(998);
  });
});

describe('bulkhead on Redis', () => {
  it('two stores share one cap: at most maxConcurrentCalls run at once across them', async () => {
    const config: BulkheadConfig = { maxConcurrentCalls: 3 };
    const a = bulkhead('cap', config, store());
    const b = bulkhead('cap', config, store());
    const probe = concurrencyProbe(50);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 6; i++) calls.push(a.execute(probe.call), b.execute(probe.call));
    expect(await admitted(calls)).toBe(3);
    expect(probe.highest).toBe(3);
    // every slot back (releases are not awaited by the calls): the set is gone
    await waitUntil(async () => (await redis.client.exists(bhKey('cap'))) === 0, 1_000, 'no lease left');
    expect((await a.getMetrics()).availableConcurrentCalls).toBe(3);
  });

  it('a caller waiting in one store gets the slot another store frees, by notice, at once', async () => {
    const a = bulkhead('notice', { maxConcurrentCalls: 1 }, store());
    const b = bulkhead('notice', { maxConcurrentCalls: 1, maxWaitDuration: 5_000 }, store());
    const held = gate();
    const first = a.execute(() => held.promise);
    await waitUntil(
      async () => (await b.getMetrics()).availableConcurrentCalls === 0,
      1_000,
      'the slot taken',
    );
    let startedAt = 0;
    const second = b.execute(async () => {
      startedAt = Date.now();
    });
    await sleep(1_500); // past the engine's first retry (at most a second): still waiting, no lost slot
    expect(startedAt).toBe(0);
    const releasedAt = Date.now();
    held.release();
    await first;
    await within(second, 1_000, 'the waiting call');
    // a retry timer would have taken up to a second more: the notice woke it
    expect(startedAt - releasedAt).toBeLessThan(500);
  });

  it('releases publish nothing while nobody waits', async () => {
    const sub = redis.server.client();
    const heard: string[] = [];
    sub.on('message', (channel: string) => heard.push(channel));
    await sub.subscribe('breakwater:{bh:quiet}:freed');
    const bh = bulkhead('quiet', { maxConcurrentCalls: 2 }, store());
    for (let i = 0; i < 20; i++) await bh.execute(() => 'ok');
    // refused without a queue (maxWaitDuration 0): nobody will wait, still no notice
    const held = gate();
    const running = [bh.execute(() => held.promise), bh.execute(() => held.promise)];
    await expect(bh.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadFullError);
    held.release();
    await Promise.all(running);
    await sleep(100);
    expect(heard).toEqual([]);
    sub.disconnect();
  });

  it('the slot of a process that died is reclaimed once its lease expires; a waiter then gets it', async () => {
    const s = store({ bulkheadLeaseMs: 400 });
    const bh = bulkhead('reclaim', { maxConcurrentCalls: 1, maxWaitDuration: 3_000 }, s);
    // a lease left by a process that died (nobody renews it)
    const redisNow = await redisTime();
    await redis.client.zadd(bhKey('reclaim'), redisNow + 400, 'dead:1');
    const started = Date.now();
    expect(await bh.execute(() => 'mine')).toBe('mine');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(300);
    expect(waited).toBeLessThan(2_900); // well before its 3 s wait ends, with room for a loaded machine
    expect(await redis.client.zscore(bhKey('reclaim'), 'dead:1')).toBeNull();
  });

  it('a call running longer than the lease keeps its slot (renewed): no over-admission', async () => {
    // Long enough that a loaded CI machine (event-loop lag of a few hundred ms) still renews in time.
    const leaseMs = 1_500;
    const a = bulkhead('renew', { maxConcurrentCalls: 1 }, store({ bulkheadLeaseMs: leaseMs }));
    const b = bulkhead('renew', { maxConcurrentCalls: 1 }, store({ bulkheadLeaseMs: leaseMs }));
    // a and b talk to Redis over different connections: let a's slot land before b tries.
    const long = await heldSlot(a, redis.client, "a's slot");
    const deadline = Date.now() + 2.5 * leaseMs;
    let refusals = 0;
    while (Date.now() < deadline) {
      await expect(b.execute(() => 'sneaked in')).rejects.toBeInstanceOf(BulkheadFullError);
      refusals++;
      await sleep(50);
    }
    expect(refusals).toBeGreaterThan(10);
    const ttl = await redis.client.pttl(bhKey('renew'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(leaseMs);
    await long.release();
    expect(await b.execute(() => 'now')).toBe('now');
  });

  it('key layout and memory: one sorted set of leases, expiring with its latest lease', async () => {
    const s = store({ keyPrefix: 'acme', bulkheadLeaseMs: 30_000 });
    const bh = bulkhead('pool', { maxConcurrentCalls: 25 }, s);
    const held = gate();
    const running = Array.from({ length: 25 }, () => bh.execute(() => held.promise));
    await waitUntil(async () => (await redis.client.zcard(bhKey('pool', 'acme'))) === 25, 1_000, '25 leases');
    expect(await redis.client.keys('acme:*')).toEqual([bhKey('pool', 'acme')]);
    expect(await redis.client.type(bhKey('pool', 'acme'))).toBe('zset');
    const ttl = await redis.client.pttl(bhKey('pool', 'acme'));
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    const bytes = Number(await redis.client.call('MEMORY', 'USAGE', bhKey('pool', 'acme'), 'SAMPLES', '0'));
    console.info(`MEMORY USAGE, bulkhead with 25 leases: ${bytes} bytes`);
    expect(bytes).toBeLessThanOrEqual(1_024);
    held.release();
    await Promise.all(running);
    await waitUntil(
      async () => (await redis.client.exists(bhKey('pool', 'acme'))) === 0,
      1_000,
      'no lease left',
    );
  });

  it.each<[string, (key: string) => Promise<unknown>, RegExp]>([
    ['a string', (key) => redis.client.set(key, '3 in use'), /string/],
    ['a hash', (key) => redis.client.hset(key, 'inUse', '3'), /hash/],
    ['a lease that never expires', (key) => redis.client.zadd(key, '+inf', 'forever'), /never expires/],
  ])(
    'garbage (%s) resets the bulkhead with a STATE_RESET event; callers see no error',
    async (what, write, reason) => {
      const name = `garbage-${what.replaceAll(' ', '-')}`;
      const s = store();
      const events = captureStoreEvents(s);
      const bh = bulkhead(name, { maxConcurrentCalls: 1 }, s);
      await write(bhKey(name));
      expect(await bh.execute(() => 'fine')).toBe('fine');
      const resets = events.events.filter((e) => e.type === 'STATE_RESET');
      expect(resets).toHaveLength(1);
      expect(resets[0]).toMatchObject({ policy: `bulkhead:${name}` });
      expect((resets[0] as { reason: string }).reason).toMatch(reason);
    },
  );

  it('close() closes the notice subscription', async () => {
    const count = async () =>
      String(await redis.client.client('LIST'))
        .split('\n')
        .filter((l) => l.trim()).length;
    const s = new RedisStore({ client: redis.client, commandTimeout: 1_000 });
    const a = Bulkhead.of('closing', { maxConcurrentCalls: 1, maxWaitDuration: 200 }, { store: s });
    const held = gate();
    const running = a.execute(() => held.promise);
    await expect(a.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadFullError);
    await waitUntil(
      async () =>
        Number(
          ((await redis.client.pubsub('NUMSUB', 'breakwater:{bh:closing}:freed')) as [string, number])[1],
        ) === 1,
      1_000,
      'the subscription',
    );
    const before = await count();
    held.release();
    await running;
    a.close();
    await s.close();
    await waitUntil(async () => (await count()) <= before - 2, 1_000, 'connections closed');
    expect(
      Number(((await redis.client.pubsub('NUMSUB', 'breakwater:{bh:closing}:freed')) as [string, number])[1]),
    ).toBe(0);
  });
});

describe('ACL', () => {
  /**
   * What rate limiters and bulkheads need on top of the breaker's list (test/redis/redis-store.test.ts):
   * the sorted-set commands of the leases, PEXPIRE, UNSUBSCRIBE, and the bulkheads' notice channels.
   */
  const COMMANDS = [
    ...BREAKER_COMMANDS,
    ...['zadd', 'zrem', 'zremrangebyscore', 'zscore', 'zcard', 'zrange', 'unsubscribe'],
  ];

  it('a user restricted to the documented commands runs rate limiters and bulkheads, waiting included', async () => {
    const restricted = await restrictedUser(redis, 'limits', 'bw-limits', 'breakwater:*', COMMANDS);
    const a = store({}, restricted());
    const b = store({}, restricted());
    const events = [captureStoreEvents(a), captureStoreEvents(b)];
    for (const algorithm of ['fixed-window', 'gcra'] as const) {
      const rl = limiter(
        `acl-${algorithm}`,
        { algorithm, limitForPeriod: 2, limitRefreshPeriod: 60_000, timeoutDuration: 0 },
        a,
      );
      await rl.acquirePermission();
      await rl.drainPermissions();
      await expect(rl.acquirePermission()).rejects.toBeInstanceOf(RequestNotPermittedError);
      await redis.client.set(rlKey(`acl-${algorithm}`), 'junk'); // garbage: reset
      await rl.getMetrics();
    }
    const holder = bulkhead('acl', { maxConcurrentCalls: 1 }, a);
    const waiter = bulkhead('acl', { maxConcurrentCalls: 1, maxWaitDuration: 3_000 }, b);
    const first = await heldSlot(holder, redis.client, 'the lease');
    const second = waiter.execute(() => 'waited');
    await sleep(200);
    await first.release();
    expect(await within(second, 2_000, 'the waiter')).toBe('waited');
    await redis.client.set(bhKey('acl'), 'junk'); // garbage: TYPE + DEL
    expect(await holder.execute(() => 'after garbage')).toBe('after garbage');
    waiter.close();
    await b.close(); // UNSUBSCRIBE, QUIT
    expect(events.flatMap((e) => e.types()).filter((t) => t !== 'STATE_RESET')).toEqual([]);
    expect(await redis.client.call('ACL', 'LOG')).toEqual([]);
  });
});

describe('when Redis fails', () => {
  let outage: RedisServer;
  let outageClient: Redis;

  beforeAll(async () => {
    outage = await startRedis();
  });

  /**
   * A store on the Redis that fails, over a client of its own that reconnects quickly: commands time
   * out after 100 ms, and two failures in a row open its guard.
   */
  async function outageStore(options: Partial<RedisStoreOptions> = {}) {
    outageClient = outage.client({ retryStrategy: () => 50 });
    outageClient.on('error', () => {});
    await outageClient.ping();
    return store(
      { ...options, commandTimeout: 100, guard: { failureThreshold: 2, waitDurationMs: 200 } },
      outageClient,
    );
  }

  /** A store whose Redis is frozen (SIGSTOP) until `thaw()`. */
  async function frozen(policy: StoreFailurePolicy) {
    const s = await outageStore({ onStoreFailure: policy });
    await waitUntil(async () => (await s.guardState()) === 'CLOSED', 1_000, 'ready');
    return { s, freeze: () => outage.pause(), thaw: () => outage.resume() };
  }
  type Frozen = Awaited<ReturnType<typeof frozen>>;

  afterEach(async () => {
    await outage.resume();
    outageClient?.disconnect();
  });

  /** One test per failure policy, with what it `expects` under that policy, on a store about to freeze. */
  function eachPolicy(
    title: string,
    expects: Readonly<Record<StoreFailurePolicy, number>>,
    body: (policy: StoreFailurePolicy, expected: number, store: Frozen) => Promise<void>,
  ): void {
    it.each(Object.entries(expects) as [StoreFailurePolicy, number][])(title, async (policy, expected) =>
      body(policy, expected, await frozen(policy)),
    );
  }

  eachPolicy(
    'rate limiter, %s: every call settles within the command timeout; %i of 10 admitted',
    { local: 3, allow: 10, deny: 0 },
    async (policy, expected, { s, freeze, thaw }) => {
      const events = captureStoreEvents(s);
      const rl = limiter(
        `outage-${policy}`,
        { limitForPeriod: 3, limitRefreshPeriod: 60_000, timeoutDuration: 0 },
        s,
      );
      await rl.getMetrics(); // connected
      await freeze();
      const started = Date.now();
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => rl.acquirePermission()));
      expect(Date.now() - started).toBeLessThan(400);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(expected);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RequestNotPermittedError);
      // One batch timed out: a lone failure, decided by the failure policy. A second one opens the
      // store's guard (failureThreshold: 2), which is the outage.
      await Promise.allSettled([rl.acquirePermission()]);
      expect(events.types()).toContain('STORE_FAILURE');
      await thaw();
      // back on Redis: the shared state, untouched by the outage
      await waitUntil(
        async () => {
          await rl.acquirePermission().catch(() => {});
          return events.types().includes('STORE_RECOVERED');
        },
        3_000,
        'recovery',
      );
    },
  );

  it("rate limiter, 'local': a flapping Redis hands out no fresh budget; permits Redis granted late are given back", async () => {
    const { s, freeze, thaw } = await frozen('local');
    const rl = limiter('flapping', { limitForPeriod: 3, limitRefreshPeriod: 60_000, timeoutDuration: 0 }, s);
    const admitted = async (n: number) =>
      (await Promise.allSettled(Array.from({ length: n }, () => rl.acquirePermission()))).filter(
        (r) => r.status === 'fulfilled',
      ).length;
    await rl.getMetrics(); // connected
    await freeze();
    expect(await admitted(10)).toBe(3); // the in-process budget of the period
    await thaw();
    await waitUntil(async () => (await s.guardState()) === 'CLOSED', 3_000, 'back on Redis');
    // The frozen server ran the timed-out batch when it woke and granted 3 permits to callers who
    // had given up (docs/redis.md, "A command that timed out may still be applied"): they are
    // given back as soon as its late answer arrives (after whatever was sent right after the thaw),
    // so the shared limit gets its whole budget back.
    await waitUntil(
      async () => (await rl.getMetrics()).availablePermissions === 3,
      3_000,
      'the late grants given back',
    );
    expect(await admitted(10)).toBe(3);
    await freeze();
    // the second outage of the period finds the in-process budget spent, not a fresh one
    expect(await admitted(10)).toBe(0);
  });

  eachPolicy(
    'bulkhead, %s: every call settles within the command timeout; %i of 5 run at once',
    { local: 2, allow: 5, deny: 0 },
    async (policy, expected, { s, freeze, thaw }) => {
      const bh = bulkhead(`outage-${policy}`, { maxConcurrentCalls: 2 }, s);
      await bh.getMetrics();
      await freeze();
      const held = gate();
      const started = Date.now();
      let running = 0;
      const settled = Promise.allSettled(
        Array.from({ length: 5 }, () =>
          bh.execute(async () => {
            running++;
            await held.promise;
          }),
        ),
      );
      await sleep(300);
      expect(running).toBe(expected);
      held.release();
      const results = await settled;
      expect(Date.now() - started).toBeLessThan(600);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(BulkheadFullError);
      await thaw();
      // acquires that timed out while Redis was frozen ran when it thawed: their leases are given back
      await waitUntil(
        async () => (await outageClient.exists(bhKey(`outage-${policy}`))) === 0,
        3_000,
        'no lease left',
      );
      expect((await bh.getMetrics()).availableConcurrentCalls).toBe(2);
    },
  );

  it('kill -9 and restart under load: every call settles promptly, and the policies go back to Redis', async () => {
    const s = await outageStore();
    const events = captureStoreEvents(s);
    const rl = limiter('chaos-rl', { limitForPeriod: 50, limitRefreshPeriod: 100, timeoutDuration: 0 }, s);
    const bh = bulkhead('chaos-bh', { maxConcurrentCalls: 4, maxWaitDuration: 50 }, s);
    let stop = false;
    let calls = 0;
    let slowest = 0;
    const unexpected: unknown[] = [];
    const lane = async (i: number) => {
      while (!stop) {
        const started = Date.now();
        try {
          if (i % 2 === 0) await rl.acquirePermission();
          else await bh.execute(() => sleep(5));
        } catch (error) {
          if (!(error instanceof RequestNotPermittedError) && !(error instanceof BulkheadFullError))
            unexpected.push(error);
        }
        slowest = Math.max(slowest, Date.now() - started);
        calls++;
        await sleep(2);
      }
    };
    const lanes = Promise.all(Array.from({ length: 8 }, (_, i) => lane(i)));
    await sleep(300);
    await outage.kill('SIGKILL');
    await sleep(500);
    await outage.restart();
    await waitUntil(() => events.types().includes('STORE_RECOVERED'), 3_000, 'recovery');
    await sleep(300);
    stop = true;
    await within(lanes, 2_000, 'the load');
    console.info(
      `kill -9 under load: ${calls} calls, slowest ${slowest} ms, events ${events.types().join(' ')}`,
    );
    expect(unexpected).toEqual([]);
    // the bulkhead waits up to 50 ms for a slot, then a command may take up to its 100 ms timeout
    expect(slowest).toBeLessThan(400);
    expect(events.types().slice(0, 2)).toEqual(['STORE_FAILURE', 'STORE_RECOVERED']);
    // on Redis again: the state is there and shared
    await rl.acquirePermission().catch(() => {});
    expect(await outageClient.exists(rlKey('chaos-rl'))).toBe(1);
    const slot = await heldSlot(bh, outageClient, 'a lease in Redis');
    await slot.release();
  });

  it('a release Redis missed is sent again once it answers: the slot is not lost for a lease', async () => {
    const { s, freeze, thaw } = await frozen('local');
    const bh = bulkhead('missed-release', { maxConcurrentCalls: 1 }, s);
    const slot = await heldSlot(bh, outageClient, 'the lease');
    await freeze();
    await slot.release(); // its release fails (frozen)
    await sleep(150);
    await thaw();
    await sleep(250); // past the guard's wait
    // the next call carries the missed release along
    expect(await bh.execute(() => 'again')).toBe('again');
    await waitUntil(
      async () => (await outageClient.exists(bhKey('missed-release'))) === 0,
      1_000,
      'no lease left',
    );
  });
});
