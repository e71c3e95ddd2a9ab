/**
 * Failover: RedisStore through a Sentinel failover and a Redis Cluster failover (a replica
 * promoted after kill -9 of its master), set up as users run it: a client made the usual way
 * (`new Redis({ sentinels, name })`, `new Redis.Cluster(nodes)`, default options), a store with
 * default options (commandTimeout 100 ms, guard 3 failures / 1 s), and a second process with its
 * own client and store.
 *
 * Under load (breakers, a rate limiter and a bulkhead), kill -9 of the master shows that
 * (a) every call settles within the command timeout plus a margin, with nothing but the policies'
 *     own results and refusals;
 * (b) the store follows the promoted replica: STORE_FAILURE then STORE_RECOVERED, its guard CLOSED,
 *     every script answered by Redis again, and a transition made by one process after the
 *     failover obeyed by the other, both ways;
 * (c) what the failover loses is what the README's "Failover" section says. Measured: outcomes
 *     the old master had applied that the promoted replica lacks (the master is read in a loop
 *     until it dies, the replica right after), the state of a breaker opened just before the kill,
 *     and how long the store was off Redis.
 * Then a replica cut off from its master (`detachReplicas`) while a few things happen shows what
 * the README says a lagging replica loses, and that nothing gets stuck.
 */

import { createHash } from 'node:crypto';
import {
  Bulkhead,
  BulkheadFullError,
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  RateLimiter,
  RequestNotPermittedError,
} from '@breakwater/core';
import { RedisStore } from '@breakwater/store-redis';
import { BREAKER_SCRIPT, breakerKey } from '@breakwater/store-redis/wire';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  detachReplicas,
  type RedisServer,
  spawnWorker,
  stopAll,
  type WorkerHandle,
  type WorkerMessage,
} from '../support/redis-harness.js';
import { namesOn, type Topology, topologies } from './failover-topology.js';
import {
  captureStoreEvents,
  collapse,
  DownstreamError,
  type LoadStats,
  runLoad,
  sleep,
  waitUntil,
  watchStalls,
  within,
} from './helpers.js';

/** RedisStore's default, which every store here keeps. */
const COMMAND_TIMEOUT_MS = 100;
/**
 * What a call may take: the command timeout, the call itself (a few ms) and a busy event loop.
 * Time the process was kept off the CPU altogether (other processes on a loaded 2-core machine,
 * measured by `watchStalls`) does not count against the store.
 */
const LATENCY_BOUND_MS = COMMAND_TIMEOUT_MS + 150;
const BREAKER_LANES = 8;
/** Counts every outcome of a test (a 60 s window) and never trips. */
const LEDGER: CircuitBreakerConfig = {
  slidingWindowType: 'TIME_BASED',
  slidingWindowSize: 60,
  minimumNumberOfCalls: 1_000_000,
};
/** Opens on two failures. */
const TRIP: CircuitBreakerConfig = { slidingWindowSize: 2, minimumNumberOfCalls: 2 };

const keyOf = (name: string) => breakerKey('breakwater', name);
const BREAKER_SHA = createHash('sha1').update(BREAKER_SCRIPT.lua).digest('hex');
const fail = () => Promise.reject(new DownstreamError('down'));
const ok = async () => {
  await sleep(1);
  return 'ok';
};

/**
 * Calls that `enter()` hold their permit or slot until the test opens the gate; `entered` counts
 * the calls that got that far (were admitted).
 */
function gate(): { enter(): Promise<string>; readonly entered: number; open(): void } {
  let open = () => {};
  const promise = new Promise<string>((resolve) => {
    open = () => resolve('done');
  });
  let entered = 0;
  return {
    enter() {
      entered++;
      return promise;
    },
    get entered() {
      return entered;
    },
    open: () => open(),
  };
}

/** A breaker document as the store keeps it (only what the suite reads). */
interface BreakerDocument {
  readonly state: string;
  readonly window: { readonly calls: number };
}

function parseDocument(raw: string | null): BreakerDocument | undefined {
  return raw === null ? undefined : (JSON.parse(raw) as BreakerDocument);
}

/** Outcomes in the windows of breaker documents. */
function windowCalls(docs: readonly (string | null)[]): number {
  return docs.reduce((sum, raw) => sum + (parseDocument(raw)?.window.calls ?? 0), 0);
}

/**
 * Reads the windows of `keys` on `master` in a loop, over one connection, until it dies: the last
 * sum read is a lower bound of what the master had applied when it died.
 */
function readUntilDeath(master: RedisServer, keys: readonly string[]) {
  const client = master.client({ maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  let last = 0;
  let reads = 0;
  const loop = (async () => {
    for (;;) {
      try {
        last = windowCalls(await Promise.all(keys.map((key) => client.get(key))));
        reads++;
      } catch {
        return;
      }
    }
  })();
  return {
    get last() {
      return last;
    },
    get reads() {
      return reads;
    },
    /** Resolves once the master stopped answering. */
    ended: () => within(loop, 5_000, 'the reads of the dying master'),
  };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await stopAll();
});

describe.each(topologies)('failover: %s', (_, start) => {
  let topology: Topology;
  let stopTopology: () => Promise<void>;
  let second: WorkerHandle;
  const cleanup: (() => unknown)[] = [];

  beforeAll(async () => {
    ({ topology, stop: stopTopology } = await start());
    second = spawnWorker('test/redis/fixtures/failover-worker.ts', topology.workerArgs());
  }, 30_000);
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    expect(unhandled.splice(0)).toEqual([]);
    expect(second.messages.filter((m) => m.type === 'unhandled')).toEqual([]);
  });
  afterAll(async () => {
    await second?.kill();
    await stopTopology?.();
  });

  /** `closable`, closed after the test (before what was made earlier). */
  function closing<T extends { close(): unknown }>(closable: T): T {
    cleanup.push(() => closable.close());
    return closable;
  }

  /** A user's client and a RedisStore with default options on it. */
  function userStore(): RedisStore {
    const client = topology.client();
    client.on('error', () => {}); // the store reports outages through its events
    cleanup.push(() => client.disconnect());
    return closing(new RedisStore({ client }));
  }

  const breaker = (name: string, config: CircuitBreakerConfig, store: RedisStore) =>
    closing(CircuitBreaker.of(name, config, { store }));

  /** Round trips of the store, to tell when it answers from Redis. */
  function followOperations(store: RedisStore) {
    const lastOk = new Map<string, number>();
    // a quiet period starts with the first operation, not before (a timeout takes 100 ms to fail)
    let lastFailure = performance.now();
    let failures = 0;
    let lastAnswer = performance.now();
    let longestSilence = 0;
    const off = store.onOperation((op) => {
      const now = performance.now();
      if (op.ok) {
        lastOk.set(op.operation, now);
        longestSilence = Math.max(longestSilence, now - lastAnswer);
        lastAnswer = now;
      } else {
        lastFailure = now;
        failures++;
      }
    });
    cleanup.push(off);
    return {
      lastOk,
      get lastFailure() {
        return lastFailure;
      },
      get failures() {
        return failures;
      },
      /** The longest time without any answer from Redis (any script, any key) since `resetSilence`. */
      get longestSilence() {
        return longestSilence;
      },
      resetSilence() {
        lastAnswer = performance.now();
        longestSilence = 0;
      },
    };
  }

  let nextId = 0;
  /** Asks the second process; `failedOps` counts its store's failed round trips meanwhile. */
  async function ask(message: Record<string, unknown>): Promise<{ result: unknown; failedOps: number }> {
    const id = ++nextId;
    const reply = second.waitFor((m: WorkerMessage) => m.type === 'done' && m.id === id, 5_000);
    second.send({ ...message, id });
    const { result, failedOps } = (await reply) as { result?: unknown; failedOps?: unknown };
    return { result, failedOps: Number(failedOps) };
  }

  it('kill -9 the master under load: calls settle in time, the store follows the promoted replica, which has what the master acknowledged', async () => {
    await second.waitFor((m) => m.type === 'ready', 15_000);
    const store = userStore();
    const events = captureStoreEvents(store);
    const ops = followOperations(store);

    const victim = await topology.masterOf(keyOf('load-0'));
    // the breakers' keys spread over every master of a Cluster; the ledgers are the ones on the victim
    const loadBreakers = Array.from({ length: 24 }, (_, i) => breaker(`load-${i}`, LEDGER, store));
    const ledgers: string[] = [];
    for (const cb of loadBreakers)
      if ((await topology.masterOf(keyOf(cb.name))) === victim) ledgers.push(cb.name);
    const [justOpenedName, followName, forcedName] = await namesOn(topology, victim, 'after', 3, keyOf);
    const justOpened = breaker(justOpenedName, TRIP, store);
    // a rejected caller does not wait for a permit (timeoutDuration 0): every call settles at once
    const limiter = closing(
      RateLimiter.of(
        'failover-limiter',
        { limitForPeriod: 50, limitRefreshPeriod: 100, timeoutDuration: 0 },
        { store },
      ),
    );
    const bulkhead = closing(Bulkhead.of('failover-bulkhead', { maxConcurrentCalls: 3 }, { store }));

    const stalls = watchStalls();
    cleanup.push(() => stalls.stop());
    let stopped = false;
    const deadline = Date.now() + 30_000;
    const until = () => stopped || Date.now() > deadline;
    const loads: Promise<LoadStats>[] = [
      runLoad({
        pick: (i) => loadBreakers[i % loadBreakers.length],
        call: (cb) => cb.execute(ok),
        concurrency: BREAKER_LANES,
        pauseMs: 2,
        until,
      }),
      runLoad({
        pick: () => limiter,
        call: (rl) => rl.execute(ok),
        rejected: (e) => e instanceof RequestNotPermittedError,
        concurrency: 4,
        pauseMs: 2,
        until,
      }),
      runLoad({
        pick: () => bulkhead,
        call: (bh) => bh.execute(() => sleep(5)),
        rejected: (e) => e instanceof BulkheadFullError,
        concurrency: 4,
        pauseMs: 2,
        until,
      }),
    ];

    // a steady load on Redis (a cold Cluster client needs a moment: not what this test is about)
    await waitUntil(
      async () =>
        (await store.guardState()) === 'CLOSED' &&
        performance.now() - ops.lastFailure > 500 &&
        ['breakwaterBreaker', 'breakwaterRateLimiter', 'breakwaterBulkhead'].every((s) => ops.lastOk.has(s)),
      10_000,
      'a steady load answered by Redis',
    );
    const reads = readUntilDeath(victim, ledgers.map(keyOf));
    await sleep(300);
    const beforeKill = events.events.length;

    // a breaker opens, and its master dies right after
    const opened = new Promise<void>((resolve) =>
      justOpened.on('STATE_TRANSITION', (e) => e.to === 'OPEN' && resolve()),
    );
    await Promise.all([justOpened.execute(fail).catch(() => {}), justOpened.execute(fail).catch(() => {})]);
    await within(opened, 1_000, 'the just-opened breaker');
    const openedInRedis = events.events.length === beforeKill; // not in the fallback
    const killedAt = Date.now();
    ops.resetSilence();
    await topology.kill(victim);
    expect(openedInRedis).toBe(true);

    // what the promoted replica holds (nothing reaches it until it is promoted)
    const replica = await topology.replicaOf(victim);
    await reads.ended();
    const [justOpenedDoc, ...ledgerDocs] = await topology.read(
      replica,
      [justOpenedName, ...ledgers].map(keyOf),
    );
    const onReplica = windowCalls(ledgerDocs);
    const justOpenedOnReplica = parseDocument(justOpenedDoc ?? null)?.state;

    const promoted = await topology.waitForFailover(victim);
    const promotedAt = Date.now();
    expect(promoted).toBe(replica);
    await waitUntil(
      async () =>
        events.types().at(-1) === 'STORE_RECOVERED' &&
        (await store.guardState()) === 'CLOSED' &&
        performance.now() - ops.lastFailure > 500,
      15_000,
      'the store back on Redis',
    );
    const recoveredAt = performance.now();
    await sleep(300);
    stopped = true;
    const [breakers, limited, bulkheaded] = await within(Promise.all(loads), 3_000, 'the load');

    // (a) every call settled in time, with the policies' own results only
    for (const [what, stats] of [
      ['breakers', breakers],
      ['rate limiter', limited],
      ['bulkhead', bulkheaded],
    ] as const) {
      const slow = stats.slowest(3).map((c) => `${c.latencyMs.toFixed(0)} ms ${c.outcome}`);
      const own = stats.calls.map((c) => c.latencyMs - stalls.during(c.startedAt, c.startedAt + c.latencyMs));
      const slowestOwn = Math.max(...own);
      console.info(
        `${topology.kind} ${what}: ${stats.settled} calls (${stats.count('ok')} ok, ${stats.count('rejected')} rejected), ` +
          `slowest ${slow.join(', ')}; slowest without the time the process could not run ${slowestOwn.toFixed(0)} ms`,
      );
      expect(stats.settled).toBe(stats.started);
      expect(stats.calls.filter((c) => c.outcome === 'unexpected').map((c) => String(c.error))).toEqual([]);
      expect(stats.count('failed')).toBe(0);
      expect(slowestOwn).toBeLessThan(LATENCY_BOUND_MS);
    }
    expect(breakers.count('rejected')).toBe(0); // the ledgers never trip
    expect(limited.count('rejected')).toBeGreaterThan(0);
    expect(limited.count('ok')).toBeGreaterThan(0);
    expect(bulkheaded.count('ok')).toBeGreaterThan(0);

    // (b) the store followed the promoted replica
    const outage = events.events.slice(beforeKill);
    expect(outage[0]?.type).toBe('STORE_FAILURE');
    expect(outage.at(-1)?.type).toBe('STORE_RECOVERED');
    expect(await store.guardState()).toBe('CLOSED');
    for (const script of ['breakwaterBreaker', 'breakwaterRateLimiter', 'breakwaterBulkhead']) {
      expect(ops.lastOk.get(script)).toBeGreaterThan(recoveredAt);
    }
    // the promoted replica runs the store's scripts (a replica gets a script's effects, not the
    // script: the first call on the new connection sent it in full, ioredis does so on every socket)
    expect(await promoted.command('SCRIPT', 'EXISTS', BREAKER_SHA)).toEqual([1]);
    const noscript = (await promoted.info('errorstats')).errorstat_NOSCRIPT ?? 'count=0';
    // the ledgers on the promoted replica grew again
    expect(windowCalls(await topology.read(promoted, ledgers.map(keyOf)))).toBeGreaterThan(onReplica);
    // a transition made by the second process after the failover is obeyed here...
    const follow = breaker(followName, TRIP, store);
    const byOther = await waitUntil(
      async () => {
        const reply = await ask({ type: 'transition', name: followName, config: TRIP, to: 'OPEN' });
        return reply.failedOps === 0 ? reply : undefined;
      },
      5_000,
      'a transition decided by Redis in the second process',
    );
    expect(byOther.failedOps).toBe(0);
    await expect(follow.execute(ok)).rejects.toBeInstanceOf(CallNotPermittedError);
    expect(await follow.getState()).toBe('OPEN');
    // ...and one made here is obeyed there
    const failuresBefore = ops.failures;
    await breaker(forcedName, TRIP, store).transitionToForcedOpenState();
    expect(ops.failures).toBe(failuresBefore);
    expect(await ask({ type: 'state', name: forcedName, config: TRIP })).toEqual({
      result: 'FORCED_OPEN',
      failedOps: 0,
    });

    // (c) what the failover lost: outcomes the master had applied that the replica lacks, at most
    // one batch per lane in flight (the master sends a write to its replicas in the same event loop
    // turn as its reply)
    const lost = Math.max(0, reads.last - onReplica);
    const justOpenedAfter = await justOpened.getState();
    expect(justOpenedAfter).toBe(justOpenedOnReplica);
    if (justOpenedAfter !== 'OPEN') {
      await justOpened.execute(fail).catch(() => {});
      await justOpened.execute(fail).catch(() => {});
      expect(await justOpened.getState()).toBe('OPEN');
    }
    const firstFailure = outage[0]!.at;
    const lastRecovery = outage.at(-1)!.at;
    console.info(
      `${topology.kind} failover: replica promoted ${promotedAt - killedAt} ms after kill -9, ` +
        `store back on Redis ${lastRecovery - promotedAt} ms after that ` +
        `(STORE_FAILURE to STORE_RECOVERED ${lastRecovery - firstFailure} ms, ${collapse(outage.map((e) => e.type)).join(' ')}; ` +
        `longest time without any answer from Redis ${ops.longestSilence.toFixed(0)} ms); ` +
        `outcomes applied by the old master (last of ${reads.reads} reads) ${reads.last}, on the promoted replica ${onReplica}, lost ${lost}; ` +
        `a breaker opened just before the kill is ${justOpenedAfter} after it; NOSCRIPT on the new master: ${noscript}`,
    );
    expect(reads.reads).toBeGreaterThan(10);
    expect(lost).toBeLessThanOrEqual(BREAKER_LANES);

    await topology.heal(victim);
  }, 60_000);
  /** Calls `heartbeat` until Redis has answered its store without a failure for a while. */
  async function untilOnRedis(
    heartbeat: CircuitBreaker,
    store: RedisStore,
    ops: ReturnType<typeof followOperations>,
  ): Promise<void> {
    await waitUntil(
      async () => {
        await heartbeat.execute(ok);
        return (await store.guardState()) === 'CLOSED' && performance.now() - ops.lastFailure > 300;
      },
      10_000,
      'the store answered by Redis',
    );
  }

  it('a replica that lagged behind: what it had not received is lost as the README says, and nothing gets stuck', async () => {
    const store = userStore();
    const events = captureStoreEvents(store);
    const ops = followOperations(store);
    const heartbeat = breaker('heartbeat', {}, store);
    const victim = await topology.masterOf(keyOf('lag-0'));
    const [tripName, forcedName, probeName, ledgerName] = await namesOn(topology, victim, 'lag', 4, keyOf);
    const [limiterName] = await namesOn(topology, victim, 'lag-rl', 1, (n) => `breakwater:{rl:${n}}:state`);
    const [bulkheadName] = await namesOn(topology, victim, 'lag-bh', 1, (n) => `breakwater:{bh:${n}}:leases`);
    const PROBE: CircuitBreakerConfig = {
      ...TRIP,
      waitDurationInOpenState: 200,
      permittedNumberOfCallsInHalfOpenState: 2,
    };
    const trip = breaker(tripName, TRIP, store);
    const forced = breaker(forcedName, TRIP, store);
    const probe = breaker(probeName, PROBE, store);
    const ledger = breaker(ledgerName, LEDGER, store);
    const limiter = closing(
      RateLimiter.of(
        limiterName,
        { limitForPeriod: 3, limitRefreshPeriod: 60_000, timeoutDuration: 0 },
        { store },
      ),
    );
    const bulkhead = closing(Bulkhead.of(bulkheadName, { maxConcurrentCalls: 2 }, { store }));
    await untilOnRedis(heartbeat, store, ops);

    // replicated: two CLOSED breakers, 10 outcomes in the ledger, the probe breaker OPEN with its wait over
    expect(await trip.execute(ok)).toBe('ok');
    expect(await forced.execute(ok)).toBe('ok');
    for (let i = 0; i < 10; i++) await ledger.execute(ok);
    await probe.execute(fail).catch(() => {});
    await probe.execute(fail).catch(() => {});
    expect(await probe.getState()).toBe('OPEN');
    await sleep(250);
    await topology.waitForReplicas();
    const replica = await topology.replicaOf(victim);
    const failuresBefore = ops.failures;
    const eventsBefore = events.events.length;

    // the replica falls behind; meanwhile, on the master:
    await detachReplicas(victim);
    await trip.execute(fail).catch(() => {});
    await trip.execute(fail).catch(() => {});
    expect(await trip.getState()).toBe('OPEN'); // a breaker opens
    await forced.transitionToForcedOpenState(); // an operator forces one open
    expect(await forced.getState()).toBe('FORCED_OPEN');
    const releaseOldProbes = gate();
    const oldProbes = [0, 1].map(() => probe.execute(() => releaseOldProbes.enter())); // both half-open permits
    await waitUntil(() => releaseOldProbes.entered === 2, 2_000, 'two probes admitted');
    await expect(probe.execute(ok)).rejects.toBeInstanceOf(CallNotPermittedError);
    for (let i = 0; i < 10; i++) await ledger.execute(ok); // ten more outcomes
    expect((await ledger.getMetrics()).numberOfBufferedCalls).toBe(20);
    for (let i = 0; i < 3; i++) await limiter.acquirePermission(); // the period's three permits
    await expect(limiter.acquirePermission()).rejects.toBeInstanceOf(RequestNotPermittedError);
    const releaseOldSlots = gate();
    const oldSlots = [0, 1].map(() => bulkhead.execute(() => releaseOldSlots.enter())); // both slots
    await waitUntil(() => releaseOldSlots.entered === 2, 2_000, 'two bulkhead calls admitted');
    await expect(bulkhead.execute(ok)).rejects.toBeInstanceOf(BulkheadFullError);
    // all of it decided by the master, none of it on the replica
    expect(ops.failures).toBe(failuresBefore);
    expect(events.events.length).toBe(eventsBefore);
    const onReplica = (await topology.read(replica, [tripName, forcedName, ledgerName].map(keyOf))).map(
      parseDocument,
    );
    expect(onReplica.map((doc) => doc?.state)).toEqual(['CLOSED', 'CLOSED', 'CLOSED']);
    expect(onReplica[2]?.window.calls).toBe(10);

    await topology.kill(victim);
    const promoted = await topology.waitForFailover(victim);
    expect(promoted).toBe(replica);
    await untilOnRedis(heartbeat, store, ops);

    // what the master had not passed on is lost
    const after = {
      trip: await trip.getState(),
      forced: await forced.getState(),
      ledger: (await ledger.getMetrics()).numberOfBufferedCalls,
    };
    expect(after).toEqual({ trip: 'CLOSED', forced: 'CLOSED', ledger: 10 });
    // a breaker that had opened needs fresh failures to open again, a manual transition repeating
    await trip.execute(fail).catch(() => {});
    await trip.execute(fail).catch(() => {});
    expect(await trip.getState()).toBe('OPEN');
    await forced.transitionToForcedOpenState();
    expect(await forced.getState()).toBe('FORCED_OPEN');
    // half-open permits are handed out once more: two new probes while the two old ones still run
    const releaseNewProbes = gate();
    const newProbes = [0, 1].map(() => probe.execute(() => releaseNewProbes.enter()));
    await waitUntil(() => releaseNewProbes.entered === 2, 2_000, 'two new probes admitted');
    await expect(probe.execute(ok)).rejects.toBeInstanceOf(CallNotPermittedError);
    // a rate limiter grants the period's permits again, a bulkhead its slots
    for (let i = 0; i < 3; i++) await limiter.acquirePermission();
    await expect(limiter.acquirePermission()).rejects.toBeInstanceOf(RequestNotPermittedError);
    const releaseNewSlots = gate();
    const newSlots = [0, 1].map(() => bulkhead.execute(() => releaseNewSlots.enter()));
    await waitUntil(() => releaseNewSlots.entered === 2, 2_000, 'two new bulkhead calls admitted');
    await expect(bulkhead.execute(ok)).rejects.toBeInstanceOf(BulkheadFullError);

    // nothing gets stuck. The probes admitted before the failover end first: the promoted replica
    // never issued their permits (a permit's number comes from the instant it was taken), so their
    // outcomes are refused as late and cannot take the new probes' places...
    releaseOldProbes.open();
    await within(Promise.all(oldProbes), 2_000, 'the old probes');
    await sleep(50);
    expect(await probe.getState()).toBe('HALF_OPEN');
    expect(await probe.getMetrics()).toMatchObject({ numberOfBufferedCalls: 0 });
    // ...and the new probes decide
    releaseNewProbes.open();
    await within(Promise.all(newProbes), 2_000, 'the new probes');
    await waitUntil(async () => (await probe.getState()) === 'CLOSED', 2_000, 'the probe breaker CLOSED');
    releaseOldSlots.open();
    releaseNewSlots.open();
    await within(Promise.all([...oldSlots, ...newSlots]), 2_000, 'the held bulkhead calls');
    await waitUntil(
      async () => (await bulkhead.getMetrics()).availableConcurrentCalls === 2,
      2_000,
      'both bulkhead slots free',
    );
    expect(await bulkhead.execute(ok)).toBe('ok');
    console.info(
      `${topology.kind} failover after its replica fell behind: an OPEN breaker is ${after.trip}, a FORCED_OPEN one ${after.forced}, ` +
        `${20 - after.ledger} of 20 outcomes lost; half-open permits, bulkhead slots and rate-limiter permits handed out again`,
    );
    await topology.heal(victim);
  }, 60_000);
});
