/**
 * Conditions production brings and no helper smooths away: a store whose client has never
 * connected, a short Redis blip followed by a burst, a pause while a breaker is HALF_OPEN. Nothing
 * here waits for the store to be "ready" or warms a connection up: each test does what a user's
 * process does, and then asks Redis (through a separate admin connection) what the fleet sees.
 *
 * The burst: 100 breakers of a 4-call window, 4 concurrent calls each, the odd ones failing every
 * call. Every odd breaker must end OPEN in Redis and refuse its next call; every even one CLOSED.
 */
import {
  Bulkhead,
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  type CircuitBreakerStateName,
} from '@breakwater/core';
import { RedisStore, type RedisStoreOptions, type StoreEvent } from '@breakwater/store-redis';
import { breakerKey } from '@breakwater/store-redis/wire';
import type { Cluster, Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type RedisClusterHandle,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from '../support/redis-harness.js';
import { DownstreamError, sleep, suiteLifecycle, waitUntil } from './helpers.js';

const BREAKERS = 100;
const WINDOW: CircuitBreakerConfig = {
  slidingWindowSize: 4,
  minimumNumberOfCalls: 4,
  waitDurationInOpenState: 60_000,
};

let server: RedisServer;
let admin: Redis;
let cluster: RedisClusterHandle;
let clusterAdmin: Cluster;
const { cleanup } = suiteLifecycle();

beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster({ masters: 3 })]);
  admin = server.client();
  clusterAdmin = cluster.cluster();
  clusterAdmin.on('error', () => {});
}, 60_000);

function storeOn(client: Redis | Cluster, options: Partial<RedisStoreOptions> = {}): RedisStore {
  client.on('error', () => {});
  const store = new RedisStore({ client, ...options });
  cleanup.push(
    () => client.disconnect(),
    () => store.close(),
  );
  return store;
}

function breakersOn(store: RedisStore, prefix: string): CircuitBreaker[] {
  return Array.from({ length: BREAKERS }, (_, i) => {
    const cb = CircuitBreaker.of(`${prefix}-${i}`, WINDOW, { store });
    cleanup.push(() => cb.close());
    return cb;
  });
}

const odd = (i: number) => i % 2 === 1;

/** 4 concurrent calls on every breaker at once; the odd breakers' calls all fail. */
async function burst(breakers: readonly CircuitBreaker[]): Promise<void> {
  const calls = breakers.flatMap((cb, i) =>
    Array.from({ length: 4 }, () =>
      cb.execute(() => (odd(i) ? Promise.reject(new DownstreamError('down')) : Promise.resolve('ok'))),
    ),
  );
  const settled = await Promise.allSettled(calls);
  const unexpected = settled.filter((s) => s.status === 'rejected' && !(s.reason instanceof DownstreamError));
  expect(unexpected.map((s) => String((s as PromiseRejectedResult).reason))).toEqual([]);
}

/** The state each breaker's key holds in Redis (`CLOSED` when there is no key). */
async function statesInRedis(client: Redis | Cluster, breakers: readonly CircuitBreaker[]) {
  return Promise.all(
    breakers.map(async (cb): Promise<CircuitBreakerStateName> => {
      const raw = await client.get(breakerKey('breakwater', cb.name));
      return raw === null ? 'CLOSED' : (JSON.parse(raw) as { state: CircuitBreakerStateName }).state;
    }),
  );
}

/** Whether each breaker refuses its next call (what the caller gets). */
async function refusesNextCall(breakers: readonly CircuitBreaker[]): Promise<boolean[]> {
  return Promise.all(
    breakers.map((cb) =>
      cb
        .execute(() => 'ok')
        .then(
          () => false,
          (error: unknown) => error instanceof CallNotPermittedError,
        ),
    ),
  );
}

/**
 * Every odd breaker ends OPEN in Redis, every even one CLOSED, and each odd one refuses its next
 * call. Outcomes are recorded without awaiting Redis's reply, pipelined ahead of the same store's
 * next call: with no timeout, the next call sees them at once. After timeouts (a loaded machine, a
 * slow first connection) the calls were decided in-process and the store's guard may be open: the
 * outcomes and trips reach Redis when it answers again, within the guard's wait (1 s by default)
 * and a delivery's spacing (1 s at most), and the next calls are asked after that.
 */
async function expectOddOpen(
  client: Redis | Cluster,
  breakers: readonly CircuitBreaker[],
  timedOut = false,
): Promise<void> {
  let inRedis: CircuitBreakerStateName[] = [];
  const converged = async () => {
    inRedis = await statesInRedis(client, breakers);
    return inRedis.filter((s, i) => odd(i) && s === 'OPEN').length === BREAKERS / 2;
  };
  if (timedOut) await waitUntil(converged, 3_000, 'every failing breaker OPEN in Redis').catch(() => {});
  const refused = await refusesNextCall(breakers);
  expect(refused.filter((r, i) => odd(i) && r).length).toBe(BREAKERS / 2);
  expect(refused.filter((r, i) => !odd(i) && r).length).toBe(0);
  await converged();
  const openOdd = inRedis.filter((s, i) => odd(i) && s === 'OPEN').length;
  const openEven = inRedis.filter((s, i) => !odd(i) && s !== 'CLOSED').length;
  expect({ openOdd, openEven }).toEqual({ openOdd: BREAKERS / 2, openEven: 0 });
}

/**
 * A store on a client that has never connected, with the time its own connection took to become
 * ready (performance.now() ms), and every store event and failed round trip, for the assertions.
 */
function coldStore(client: Redis | Cluster) {
  const started = performance.now();
  const store = storeOn(client);
  const connection = (store as unknown as { runner: { connection: Redis | Cluster } }).runner.connection;
  let readyAfter = Number.POSITIVE_INFINITY;
  connection.once('ready', () => {
    readyAfter = performance.now() - started;
  });
  const events: StoreEvent[] = [];
  store.onEvent((e) => events.push(e));
  let timeouts = 0;
  store.onOperation((op) => {
    if (!op.ok && /did not answer/.test(String(op.error))) timeouts++;
  });
  return { store, events, readyAfter: () => readyAfter, timeouts: () => timeouts };
}

/**
 * A cold client is not an outage: with no timeout (a connection, and each node's, made within the
 * command timeout), the store reports nothing. A machine too loaded to connect within 100 ms
 * makes the first calls time out, and then the store rightly reports it; either way every outcome
 * reaches Redis (expectOddOpen).
 */
function expectNoOutageUnlessTimedOut(cold: ReturnType<typeof coldStore>): void {
  if (cold.timeouts() === 0) expect(cold.events.map((e) => e.type)).toEqual([]);
  else
    console.info(
      `cold start: ${cold.timeouts()} round trips timed out (ready after ${cold.readyAfter().toFixed(0)} ms)`,
    );
}

describe('a cold client, no warm-up', () => {
  it.each([
    { what: 'Cluster', prefix: 'cold-cluster', fresh: () => cluster.cluster(), seen: () => clusterAdmin },
    { what: 'single-node', prefix: 'cold-single', fresh: () => server.client(), seen: () => admin },
  ])(
    'a fresh $what client: a burst over 100 breakers opens every failing one, fleet-wide',
    async ({ prefix, fresh, seen }) => {
      const cold = coldStore(fresh());
      const breakers = breakersOn(cold.store, prefix);
      await burst(breakers);
      await expectOddOpen(seen(), breakers, cold.timeouts() > 0);
      expectNoOutageUnlessTimedOut(cold);
    },
  );
});

describe('a cold start that gets no answer at first', () => {
  it('outcomes decided before the first answer are merged, and the trip carried, when Redis answers', async () => {
    // The process starts while Redis is paused: its first calls time out waiting for the first
    // connection (a cold start under load does the same), so it decides in-process without ever
    // having read the shared breaker.
    await admin.call('CLIENT', 'PAUSE', '600', 'ALL');
    const store = storeOn(server.client());
    const [cb] = breakersOn(store, 'cold-paused').slice(0, 1);
    const settled = await Promise.allSettled(
      Array.from({ length: 4 }, () => cb.execute(() => Promise.reject(new DownstreamError('down')))),
    );
    expect(settled.every((s) => s.status === 'rejected' && s.reason instanceof DownstreamError)).toBe(true);
    expect(await cb.getState()).toBe('OPEN'); // in-process
    await waitUntil(async () => (await statesInRedis(admin, [cb]))[0] === 'OPEN', 3_000, 'OPEN in Redis');
    const doc = JSON.parse((await admin.get(breakerKey('breakwater', cb.name))) ?? '{}') as {
      window: { failures: number };
    };
    expect(doc.window.failures).toBe(4);
  });
});

describe('a short blip, then a burst', () => {
  it('CLIENT PAUSE 300 WRITE trips the guard; 1.5 s later a burst on 100 breakers opens every failing one', async () => {
    const store = storeOn(server.client());
    const breakers = breakersOn(store, 'blip');
    // Connected and working before the blip.
    await Promise.all(breakers.slice(0, 4).map((cb) => cb.execute(() => 'ok')));
    await admin.call('CLIENT', 'PAUSE', '300', 'WRITE');
    const during = await Promise.allSettled(breakers.slice(0, 8).map((cb) => cb.execute(() => 'ok')));
    expect(during.every((s) => s.status === 'fulfilled')).toBe(true);
    expect(await store.guardState()).toBe('OPEN');
    await sleep(1_500);
    // Redis is healthy again: the burst goes to it (on a loaded machine a round trip may still
    // time out; then the outcomes reach Redis a little later, as expectOddOpen allows).
    let timedOut = false;
    const stop = store.onOperation((op) => {
      if (!op.ok) timedOut = true;
    });
    await burst(breakers);
    stop();
    await expectOddOpen(admin, breakers, timedOut);
  });

  it('a trip decided in-process during an outage is carried to the shared state when Redis answers', async () => {
    const store = storeOn(server.client(), { guard: { failureThreshold: 1, waitDurationMs: 60_000 } });
    const [cb] = breakersOn(store, 'carried').slice(0, 1);
    await cb.execute(() => 'ok'); // connected
    await admin.call('CLIENT', 'PAUSE', '400', 'WRITE');
    // The guard opens on the first timeout; the rest are decided by the in-process fallback.
    const settled = await Promise.allSettled(
      Array.from({ length: 4 }, () => cb.execute(() => Promise.reject(new DownstreamError('down')))),
    );
    expect(settled.every((s) => s.status === 'rejected' && s.reason instanceof DownstreamError)).toBe(true);
    await sleep(500); // Redis answers again; the guard would wait a minute: it must not matter
    await waitUntil(async () => (await statesInRedis(admin, [cb]))[0] === 'OPEN', 3_000, 'OPEN in Redis');
  });
});

describe('closing the store right after a blip', () => {
  it('delivers the outcomes that still waited for Redis, or counts them as dropped', async () => {
    const client = server.client();
    client.on('error', () => {});
    const store = new RedisStore({ client, guard: { failureThreshold: 1, waitDurationMs: 60_000 } });
    const events: StoreEvent[] = [];
    store.onEvent((e) => events.push(e));
    const cb = CircuitBreaker.of(
      'closing-after-blip',
      { slidingWindowSize: 100, minimumNumberOfCalls: 100 },
      { store },
    );
    await cb.execute(() => 'ok'); // connected: the shared window has 1 call
    await admin.call('CLIENT', 'PAUSE', '300', 'WRITE');
    // The first call times out and opens the guard; the others are decided in-process.
    for (let i = 0; i < 5; i++) await cb.execute(() => 'in-process');
    await sleep(350);
    await store.close(); // right away: no call of this breaker carried them since
    client.disconnect();
    const doc = JSON.parse((await admin.get(breakerKey('breakwater', 'closing-after-blip'))) ?? 'null') as {
      window: { calls: number };
    };
    const dropped = events.filter((e) => e.type === 'OUTCOMES_DROPPED').reduce((n, e) => n + e.count, 0);
    // 1 before the blip, 5 during it (the first one's record rides with the second call's batch)
    expect(doc.window.calls + dropped).toBe(6);
    expect(dropped).toBe(0);
    cb.close();
  });
});

describe('a pause while HALF_OPEN', () => {
  it('probes that timed out during a 1 s pause are given back when their late replies arrive', async () => {
    const store = storeOn(server.client());
    const config: CircuitBreakerConfig = { ...WINDOW, permittedNumberOfCallsInHalfOpenState: 2 };
    const cb = CircuitBreaker.of('paused-half-open', config, { store });
    cleanup.push(() => cb.close());
    await cb.transitionToOpenState();
    await cb.transitionToHalfOpenState();
    expect(await cb.getState()).toBe('HALF_OPEN');
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    // Two probes ask during the pause: Redis grants them when it wakes, after their callers gave up.
    const during = await Promise.allSettled([cb.execute(() => 'ok'), cb.execute(() => 'ok')]);
    expect(during.every((s) => s.status === 'fulfilled')).toBe(true);
    await sleep(1_100);
    // Within 2 s of the pause's end, the downstream gets its probes from the shared state.
    const probe = new CircuitBreaker('paused-half-open', config, { store: storeOn(server.client()) });
    cleanup.push(() => probe.close());
    await waitUntil(
      async () => {
        const raw = await admin.get(breakerKey('breakwater', 'paused-half-open'));
        const doc = JSON.parse(raw ?? '{}') as { state?: string; halfOpenAvailable?: number };
        return doc.state === 'HALF_OPEN' && doc.halfOpenAvailable === 2;
      },
      2_000,
      'both probe permits back in Redis',
    );
    const probes = await Promise.allSettled([probe.execute(() => 'ok'), probe.execute(() => 'ok')]);
    expect(probes.map((p) => p.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await probe.getState()).toBe('CLOSED');
  });
});

describe('a pause while a bulkhead is full', () => {
  it('slots granted late to callers who gave up are released when the late replies arrive', async () => {
    const store = storeOn(server.client());
    const bulkhead = Bulkhead.of('paused-bulkhead', { maxConcurrentCalls: 2 }, { store });
    await bulkhead.execute(() => 'connected');
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    // Both acquires time out (the failure policy runs the calls in-process); Redis grants them late.
    const during = await Promise.allSettled([bulkhead.execute(() => 'a'), bulkhead.execute(() => 'b')]);
    expect(during.map((d) => d.status)).toEqual(['fulfilled', 'fulfilled']);
    await sleep(1_100);
    // Within 2 s of the pause's end both slots are free again, not after bulkheadLeaseMs (a minute).
    await waitUntil(
      async () => (await admin.zcard('breakwater:{bh:paused-bulkhead}:leases')) === 0,
      2_000,
      'both slots back in Redis',
    );
    const other = Bulkhead.of(
      'paused-bulkhead',
      { maxConcurrentCalls: 2 },
      { store: storeOn(server.client()) },
    );
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holders = [other.execute(() => held), other.execute(() => held)];
    await waitUntil(
      async () => (await admin.zcard('breakwater:{bh:paused-bulkhead}:leases')) === 2,
      2_000,
      'two slots taken in Redis',
    );
    release();
    await Promise.all(holders);
  });
});
