/**
 * Cluster: RedisStore on a 3-master Redis Cluster started by the harness (no replicas).
 * - 100 breakers spread over the slots of all three masters, one hash-tagged key each: no
 *   CROSSSLOT, every transition published fleet-wide (cluster pub/sub), SCRIPT FLUSH on every node survived.
 * - A master killed (-9) and restarted mid-run: calls keep settling promptly (fallback while its
 *   slots are unreachable), and afterwards every breaker works on Redis again.
 * - A Cluster client whose node options carry credentials: the store's own connection keeps them.
 */
import { CallNotPermittedError, CircuitBreaker, type CircuitBreakerConfig } from '@breakwater/core';
import { type FleetTransitionMessage, RedisStore, type RedisStoreOptions } from '@breakwater/store-redis';
import { breakerKey } from '@breakwater/store-redis/wire';
import type { Cluster } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseInfo, type RedisClusterHandle, startRedisCluster } from '../support/redis-harness.js';
import {
  captureStoreEvents,
  collapse,
  DownstreamError,
  runLoad,
  sleep,
  suiteLifecycle,
  waitUntil,
  within,
} from './helpers.js';

const BREAKERS = 100;
const COMMAND_TIMEOUT_MS = 100;
const LATENCY_BOUND_MS = COMMAND_TIMEOUT_MS + 150;

let cluster: RedisClusterHandle;
let admin: Cluster;
const { cleanup } = suiteLifecycle();

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  admin = cluster.cluster();
  admin.on('error', () => {});
}, 40_000);

function clusterStore(options: Partial<RedisStoreOptions> = {}, client = cluster.cluster()): RedisStore {
  client.on('error', () => {});
  const store = new RedisStore({ client, commandTimeout: COMMAND_TIMEOUT_MS, ...options });
  cleanup.push(
    () => client.disconnect(),
    () => store.close(),
  );
  return store;
}

function breakers(store: RedisStore, config: CircuitBreakerConfig, prefix = 'svc'): CircuitBreaker[] {
  return Array.from({ length: BREAKERS }, (_, i) => {
    const cb = CircuitBreaker.of(`${prefix}-${i}`, config, { store });
    cleanup.push(() => cb.close());
    return cb;
  });
}

const keyOf = (name: string) => breakerKey('breakwater', name);
const fail = () => Promise.reject(new DownstreamError('down'));

/** Waits until the store's own connection answers (the first calls otherwise fall back). */
async function connected(cb: CircuitBreaker, store: RedisStore): Promise<void> {
  const events = captureStoreEvents(store);
  try {
    await waitUntil(
      async () => {
        const before = events.events.length;
        await cb.getState();
        return events.events.length === before && (await store.guardState()) === 'CLOSED';
      },
      5_000,
      'the store connected',
    );
  } finally {
    events.stop();
  }
}

/** The port of the master owning each key's slot. */
async function ownersOf(keys: readonly string[]): Promise<number[]> {
  const ranges = await admin.cluster('SLOTS');
  const slots = await Promise.all(keys.map((key) => admin.cluster('KEYSLOT', key)));
  return slots.map((slot) => {
    const range = ranges.find(([start, end]) => slot >= start && slot <= end);
    return Number(range?.[2][1]);
  });
}

async function keysPerNode(): Promise<number[]> {
  return Promise.all(cluster.servers.map(async (server) => Number(await server.command('DBSIZE'))));
}

describe('RedisStore on a 3-master cluster', () => {
  it('100 breakers spread over all masters: no CROSSSLOT, transitions published, SCRIPT FLUSH survived', async () => {
    const store = clusterStore({ processId: 'cluster-a', commandTimeout: 1_000 });
    const listener = clusterStore({ processId: 'listener' });
    const opened = new Set<string>();
    listener.onFleetTransition((m: FleetTransitionMessage) => {
      if (m.origin === 'cluster-a' && m.transitions.some((t) => t.to === 'OPEN')) opened.add(m.name);
    });
    const cbs = breakers(store, { slidingWindowSize: 2, minimumNumberOfCalls: 2 });
    await connected(cbs[0], store);
    await sleep(200); // the listener's SUBSCRIBE
    const events = captureStoreEvents(store);

    // the keys' slots belong to all three masters
    const owners = await ownersOf(cbs.map((cb) => keyOf(cb.name)));
    expect(new Set(owners)).toEqual(new Set(cluster.nodes.map((n) => n.port)));

    // every breaker opens (two failures each), all at once
    await Promise.all(
      cbs.flatMap((cb) => [cb.execute(fail).catch(() => {}), cb.execute(fail).catch(() => {})]),
    );
    await cluster.flushScripts();
    const states = await Promise.all(cbs.map((cb) => cb.getState()));
    expect(new Set(states)).toEqual(new Set(['OPEN']));
    await expect(cbs[42].execute(() => 'x')).rejects.toBeInstanceOf(CallNotPermittedError);

    const perNode = await keysPerNode();
    console.info(`breaker keys per master: ${perNode.join(', ')}`);
    expect(perNode.every((n) => n > 0)).toBe(true);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(BREAKERS);
    for (const server of cluster.servers) {
      const errors = parseInfo(String(await server.command('INFO', 'errorstats')));
      expect(Object.keys(errors).filter((k) => /CROSSSLOT/.test(k))).toEqual([]);
    }
    expect(events.types()).toEqual([]);
    await waitUntil(() => opened.size === BREAKERS, 3_000, 'all 100 OPEN transitions over cluster pub/sub');
  });

  it('a master killed and restarted mid-run: calls keep settling, then every breaker is back on Redis', async () => {
    const store = clusterStore(
      { processId: 'cluster-b', guard: { failureThreshold: 3, waitDurationMs: 200 } },
      cluster.cluster({ clusterRetryStrategy: () => 50 }),
    );
    const events = captureStoreEvents(store);
    const config: CircuitBreakerConfig = { slidingWindowSize: 100, minimumNumberOfCalls: 100 };
    const cbs = breakers(store, config, 'restart');
    await connected(cbs[0], store);
    events.events.length = 0;

    const owners = await ownersOf(cbs.map((cb) => keyOf(cb.name)));
    const victim = 1;
    const onVictim = cbs.filter((_, i) => owners[i] === cluster.nodes[victim].port);
    expect(onVictim.length).toBeGreaterThan(10);

    let stopped = false;
    const deadline = Date.now() + 20_000;
    const load = runLoad({
      pick: (i) => cbs[i % BREAKERS],
      call: (cb) => cb.execute(() => 'ok'),
      concurrency: 16,
      pauseMs: 2,
      until: () => stopped || Date.now() > deadline,
      maxCalls: 200_000,
    });
    await sleep(300);
    await cluster.killNode(victim);
    await sleep(500);
    await cluster.restartNode(victim);
    await waitUntil(
      async () =>
        (await Promise.all(onVictim.map((cb) => cb.getState()))).every((s) => s === 'CLOSED') &&
        (await store.guardState()) === 'CLOSED',
      10_000,
      'the restarted master answering',
    );
    await sleep(300);
    stopped = true;
    const stats = await within(load, 3_000, 'the load');

    const slow = stats.slowest(3).map((c) => `${c.latencyMs.toFixed(0)} ms ${c.outcome}`);
    console.info(
      `master restart: ${stats.settled} calls, slowest ${slow.join(', ')}; store events ${collapse(events.types()).join(' ')}`,
    );
    expect(stats.settled).toBe(stats.started);
    expect(stats.calls.filter((c) => c.outcome !== 'ok').map((c) => String(c.error))).toEqual([]);
    expect(stats.maxLatency()).toBeLessThan(LATENCY_BOUND_MS);
    const outages = events.types().filter((t) => t === 'STORE_FAILURE' || t === 'STORE_RECOVERED');
    expect(outages[0]).toBe('STORE_FAILURE');
    expect(outages.at(-1)).toBe('STORE_RECOVERED');

    // back on Redis: every key is there again (the restarted master lost its own), and decisions are shared
    await Promise.all(cbs.map((cb) => cb.execute(fail).catch(() => {})));
    await Promise.all(cbs.map((cb) => cb.getState()));
    expect((await keysPerNode()).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(BREAKERS);
    for (const cb of cbs) expect(await admin.exists(keyOf(cb.name))).toBe(1);
    const other = CircuitBreaker.of(onVictim[0].name, config, {
      store: clusterStore({ processId: 'other' }),
    });
    cleanup.push(() => other.close());
    await other.transitionToOpenState();
    await expect(onVictim[0].execute(() => 'x')).rejects.toBeInstanceOf(CallNotPermittedError);
  }, 40_000);

  it("a Cluster client whose node options carry credentials: the store's own connection keeps them", async () => {
    // every node gets an 'app' user, and refuses unauthenticated connections
    for (const server of cluster.servers) {
      await server.command('ACL', 'SETUSER', 'app', 'on', '>app-secret', '~*', '&*', '+@all');
    }
    const asApp = cluster.servers.map((server) => server.client({ username: 'app', password: 'app-secret' }));
    await Promise.all(asApp.map((c) => c.call('ACL', 'SETUSER', 'default', 'off')));
    try {
      const client = cluster.cluster({ redisOptions: { username: 'app', password: 'app-secret' } });
      expect(await client.ping()).toBe('PONG');
      const store = clusterStore({ processId: 'authenticated', commandTimeout: 1_000 }, client);
      const events = captureStoreEvents(store);
      const cb = CircuitBreaker.of(
        'authenticated',
        { slidingWindowSize: 2, minimumNumberOfCalls: 2 },
        { store },
      );
      cleanup.push(() => cb.close());
      await cb.execute(fail).catch(() => {});
      await cb.execute(fail).catch(() => {});
      expect(await cb.getState()).toBe('OPEN');
      expect(events.events.map((e) => `${e.type} ${'error' in e ? String(e.error) : ''}`)).toEqual([]);
      expect(await client.exists(keyOf('authenticated'))).toBe(1);
    } finally {
      await Promise.all(asApp.map((c) => c.call('ACL', 'SETUSER', 'default', 'on')));
      for (const c of asApp) c.disconnect();
    }
  });
});
