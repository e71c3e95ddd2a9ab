/**
 * eventsOf(RedisStore) on a real Redis (the harness's own redis-server): fleet-wide transitions
 * from another process, the store's own failures, and no subscription left behind.
 */
import { CircuitBreaker } from '@breakwater/core';
import type { EventPublisher } from '@breakwater/core/engine';
import { RedisStore } from '@breakwater/store-redis';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { spawnWorker, startRedis } from '../../../test/support/redis-harness.js';
import { redisForFile } from '../../../test/support/redis-suite.js';
import { type Alert, alerts } from './alerts.js';
import { eventsOf } from './events-of.js';
import { ofKind, transitions } from './operators.js';
import type { EventShape } from './types.js';

const WORKER = new URL('../../../test/support/fixtures/events-fleet-worker.ts', import.meta.url);

const redis = redisForFile();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Calls through `cb` (failing or not) until `done()`: a store's outage and recovery show on calls. */
async function callUntil(what: string, cb: CircuitBreaker, done: () => boolean, timeoutMs?: number) {
  await until(
    what,
    async () => {
      await cb.execute(() => 'ok').catch(() => {});
      return done();
    },
    timeoutMs,
  );
}

/** Subscribers of `channel` (PUBSUB NUMSUB), over a fresh connection. */
async function subscribers(channel: string): Promise<number> {
  const reply = (await redis.server.command('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

/** CLIENT LIST: every connection, and those in pub/sub mode (flag P, or sub/psub > 0). */
async function connections(): Promise<{ total: number; pubsub: number }> {
  const lines = String(await redis.server.command('CLIENT', 'LIST'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    // the fresh connection running CLIENT LIST itself
    .filter((l) => !/\bcmd=client\|list\b/.test(l));
  const pubsub = lines.filter((l) => /\bflags=\S*P/.test(l) || /\b(sub|psub|ssub)=[1-9]/.test(l));
  return { total: lines.length, pubsub: pubsub.length };
}

/** Test-only peek at the store's private publishers and subscriber connection. */
function storeInternals(store: RedisStore) {
  const s = store as unknown as {
    events: EventPublisher<{ type: string }>;
    fleet: EventPublisher<{ type: string }>;
    subscriber: unknown;
  };
  return {
    storeListeners: s.events.listenerCount,
    fleetListeners: s.fleet.listenerCount,
    subscriber: s.subscriber,
  };
}

describe('eventsOf(RedisStore)', () => {
  it("observes a trip made by another process, with that process's origin", async () => {
    const prefix = 'bw-events-fleet';
    const channel = `${prefix}:events`;
    const store = new RedisStore({ client: redis.client, keyPrefix: prefix, processId: 'observer:1' });
    const events: EventShape[] = [];
    const raised: Alert[] = [];
    const sub = eventsOf(store).subscribe((e) => events.push(e));
    const alertSub = eventsOf(store)
      .pipe(alerts({ cooldownMs: 60_000 }))
      .subscribe((a) => raised.push(a));
    // SUBSCRIBE is asynchronous: only what is published after it has been answered is seen
    await until('the subscription', async () => (await subscribers(channel)) === 1);

    const worker = spawnWorker(WORKER, [redis.server.url, prefix, 'worker:42', 'upbit/kr/ticker']);
    await worker.waitFor((m) => m.type === 'ready', 15_000);
    worker.send({ type: 'trip' });
    expect(await worker.waitFor((m) => m.type === 'tripped')).toMatchObject({ state: 'OPEN' });

    await until('the fleet transition', () => events.some((e) => e.type === 'STATE_TRANSITION'));
    const [trip] = events.filter((e) => e.type === 'STATE_TRANSITION');
    expect(trip).toMatchObject({
      kind: 'circuitbreaker',
      type: 'STATE_TRANSITION',
      name: 'upbit/kr/ticker',
      from: 'CLOSED',
      to: 'OPEN',
      reason: 'FAILURE_RATE',
      failureRate: 100,
      origin: 'worker:42',
    });
    expect(Math.abs(trip.at - Date.now())).toBeLessThan(30_000); // Redis TIME, in epoch ms
    expect((trip as unknown as { until: number }).until).toBe(trip.at + 60_000);
    await until('the alert', () => raised.length > 0);
    expect(raised).toEqual([
      expect.objectContaining({
        type: 'CIRCUIT_OPEN',
        key: 'upbit/kr/ticker',
        origin: 'worker:42',
        message: 'Circuit upbit/kr/ticker: CLOSED -> OPEN (failure rate 100%) on worker:42',
      }),
    ]);

    // this process's own transitions come back through Redis too, with its own origin
    const local = CircuitBreaker.of('local/breaker', {}, { store });
    await local.transitionToForcedOpenState();
    await until('the local transition', () => events.some((e) => e.name === 'local/breaker'));
    expect(events.find((e) => e.name === 'local/breaker')).toMatchObject({
      to: 'FORCED_OPEN',
      reason: 'MANUAL',
      origin: 'observer:1',
    });
    await until('the second alert', () => raised.length === 2);
    expect(raised[1]).toMatchObject({ key: 'local/breaker', to: 'FORCED_OPEN', origin: 'observer:1' });

    await worker[Symbol.asyncDispose]();
    sub.unsubscribe();
    expect(await subscribers(channel)).toBe(1); // the alert stream still listens
    alertSub.unsubscribe();
    await until('the pub/sub connection to close', async () => (await subscribers(channel)) === 0);
    local.close();
    await store.close();
  });

  it("includes the store's own failures (stamped with this process), which raise an alert", async () => {
    const other = await startRedis();
    const store = new RedisStore({
      client: other.client({ maxRetriesPerRequest: 0 }),
      keyPrefix: 'bw-events-failing',
      processId: 'p:7',
      commandTimeout: 100,
      guard: { failureThreshold: 1, waitDurationMs: 50 },
    });
    const seen: EventShape[] = [];
    const raised: Alert[] = [];
    const sub = eventsOf(store)
      .pipe(ofKind('store'))
      .subscribe((e) => seen.push(e));
    const alertSub = eventsOf(store)
      .pipe(alerts())
      .subscribe((a) => raised.push(a));
    const cb = CircuitBreaker.of('on-failing-redis', {}, { store });
    await cb.execute(() => 'ok');

    await other.kill();
    await callUntil('STORE_FAILURE', cb, () => seen.some((e) => e.type === 'STORE_FAILURE'));
    expect(seen[0]).toMatchObject({
      kind: 'store',
      type: 'STORE_FAILURE',
      name: 'bw-events-failing',
      origin: 'p:7',
    });
    expect(raised).toEqual([
      expect.objectContaining({ type: 'STORE_FAILURE', key: 'store:bw-events-failing', origin: 'p:7' }),
    ]);

    await other.restart();
    await callUntil('STORE_RECOVERED', cb, () => seen.some((e) => e.type === 'STORE_RECOVERED'), 10_000);
    expect(raised).toHaveLength(1); // recovery is no alert
    sub.unsubscribe();
    alertSub.unsubscribe();
    expect(storeInternals(store)).toMatchObject({
      storeListeners: 0,
      fleetListeners: 0,
      subscriber: undefined,
    });
    cb.close();
    await store.close();
    await other.stop();
  });

  it('subscribe/unsubscribe 10,000 times: no listener, no subscription, no connection left behind', async () => {
    const prefix = 'bw-events-churn';
    const channel = `${prefix}:events`;
    const store = new RedisStore({ client: redis.client, keyPrefix: prefix, processId: 'churn:1' });
    await redis.client.ping();
    // other pub/sub connections (none today) are not ours to count: compare with this baseline
    const before = await connections();

    const events = eventsOf(store);
    for (let i = 0; i < 10_000; i++) events.pipe(transitions()).subscribe().unsubscribe();
    expect(storeInternals(store)).toEqual({ storeListeners: 0, fleetListeners: 0, subscriber: undefined });

    // rounds slow enough for the subscriber connection to get under way before it is closed
    for (let i = 0; i < 50; i++) {
      const s = events.subscribe();
      await sleep(i % 5);
      s.unsubscribe();
    }
    // 10,000 at once share one pub/sub connection
    const many = Array.from({ length: 10_000 }, () => events.subscribe());
    // each subscription follows fleet transitions and fleet outages: two fleet listeners
    expect(storeInternals(store)).toMatchObject({ storeListeners: 10_000, fleetListeners: 20_000 });
    await until('one subscriber', async () => (await subscribers(channel)) === 1);
    expect((await connections()).pubsub).toBe(before.pubsub + 1);
    for (const s of many) s.unsubscribe();
    expect(storeInternals(store)).toEqual({ storeListeners: 0, fleetListeners: 0, subscriber: undefined });

    await until('no subscriber', async () => (await subscribers(channel)) === 0);
    await until('the connections to close', async () => {
      const now = await connections();
      return now.pubsub === before.pubsub && now.total === before.total;
    });
    await store.close();
  });
});

describe("another process's store failures", () => {
  it('reach every process once the outage is over, with the origin that had it', async () => {
    const prefix = 'bw-events-outage';
    const lost = new RedisStore({
      client: redis.client,
      keyPrefix: prefix,
      processId: 'lost:1',
      commandTimeout: 200,
      guard: { failureThreshold: 1, waitDurationMs: 50 },
    });
    const watching = new RedisStore({ client: redis.client, keyPrefix: prefix, processId: 'watching:2' });
    const seen: EventShape[] = [];
    const sub = eventsOf(watching)
      .pipe(ofKind('store'))
      .subscribe((e) => seen.push(e));
    await until('the subscription', async () => (await subscribers(`${prefix}:events`)) > 0);
    const cb = CircuitBreaker.of('outage', {}, { store: lost });
    await cb.execute(() => 'ok');

    // Cut only the lost store's own connection: it fails fast while reconnecting, then recovers.
    const runner = (lost as unknown as { runner: { connection: Redis } }).runner;
    const id = Number(await runner.connection.client('ID'));
    await redis.client.client('KILL', 'ID', String(id));
    await callUntil('the outage', cb, () => runner.connection.status !== 'ready');
    await callUntil('the published outage', cb, () => seen.some((e) => e.type === 'STORE_FAILURE'), 10_000);
    expect(seen.filter((e) => e.type === 'STORE_FAILURE')).toEqual([
      expect.objectContaining({
        kind: 'store',
        type: 'STORE_FAILURE',
        name: prefix,
        origin: 'lost:1',
        policy: 'local',
      }),
    ]);
    const outage = seen.find((e) => e.type === 'STORE_FAILURE') as unknown as {
      at: number;
      recoveredAt: number;
    };
    expect(outage.recoveredAt).toBeGreaterThanOrEqual(outage.at);
    sub.unsubscribe();
    await lost.close();
    await watching.close();
  });
});
