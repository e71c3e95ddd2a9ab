/**
 * Chaos: a RedisStore breaker under load (concurrent `execute` calls from this process) while
 * Redis is killed with -9 and restarted, while its script cache is flushed, and while it is
 * frozen (SIGSTOP) for ten command timeouts. Then the three failure policies, one outage each, and
 * a reply the store cannot apply.
 *
 * Asserted every time: no unhandled rejection, every call settles, no call waits much longer than
 * the command timeout (each call is timed), STORE_FAILURE then STORE_RECOVERED (or no store event
 * at all for SCRIPT FLUSH), and a coherent state afterwards:
 * - after a restart without persistence the breaker's state is gone: "coherent" means the key is
 *   recreated as a valid state by the calls, the breaker reads and decides from Redis again (a
 *   state forced by another process is obeyed at once), and the calls made during the outage were
 *   decided in-process (they succeeded while Redis was down);
 * - after SCRIPT FLUSH and after a freeze Redis kept its data: a state forced before is still there.
 */
import { CallNotPermittedError, CircuitBreaker, type CircuitBreakerConfig } from '@breakwater/core';
import {
  RedisStore,
  type RedisStoreOptions,
  type StoreEvent,
  type StoreFailurePolicy,
} from '@breakwater/store-redis';
import { breakerKey } from '@breakwater/store-redis/wire';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../support/redis-harness.js';
import {
  captureStoreEvents,
  collapse,
  DownstreamError,
  type LoadStats,
  runLoad,
  sleep,
  suiteLifecycle,
  waitUntil,
  within,
} from './helpers.js';

const COMMAND_TIMEOUT_MS = 100;
/** What a call may take beyond the command timeout: the call itself (1 ms), a busy 2-core event loop. */
const MARGIN_MS = 150;
const LATENCY_BOUND_MS = COMMAND_TIMEOUT_MS + MARGIN_MS;
const LANES = 16;

let server: RedisServer;
let admin: Redis;
const { cleanup } = suiteLifecycle();

beforeAll(async () => {
  server = await startRedis();
  admin = server.client({ retryStrategy: () => 50 });
  admin.on('error', () => {});
});

/** A store on its own client that reconnects quickly, with a short guard wait. */
function chaosStore(options: Partial<RedisStoreOptions> = {}): RedisStore {
  const client = server.client({ retryStrategy: () => 50 });
  client.on('error', () => {});
  const store = new RedisStore({
    client,
    commandTimeout: COMMAND_TIMEOUT_MS,
    guard: { failureThreshold: 3, waitDurationMs: 200 },
    ...options,
  });
  cleanup.push(
    () => client.disconnect(),
    () => store.close(),
  );
  return store;
}

function breaker(name: string, config: CircuitBreakerConfig, store: RedisStore): CircuitBreaker {
  const cb = CircuitBreaker.of(name, config, { store });
  cleanup.push(() => cb.close());
  return cb;
}

const LOADED: CircuitBreakerConfig = { slidingWindowSize: 100, minimumNumberOfCalls: 100 };

/** A breaker with a window that the load never fills, on a chaos store whose events are captured. */
function loadedBreaker(name: string) {
  const store = chaosStore();
  const events = captureStoreEvents(store);
  return { store, events, cb: breaker(name, LOADED, store) };
}
const succeed = (cb: CircuitBreaker) =>
  cb.execute(async () => {
    await sleep(1);
    return 'ok';
  });

/** Starts the load; `stop()` ends it and resolves with the stats once every call has settled. */
function startLoad(
  cb: CircuitBreaker,
  call = succeed,
): { stop(): Promise<LoadStats>; stats: Promise<LoadStats> } {
  let stopped = false;
  const deadline = Date.now() + 15_000;
  const stats = runLoad({
    pick: () => cb,
    call,
    concurrency: LANES,
    pauseMs: 2,
    until: () => stopped || Date.now() > deadline,
    maxCalls: 100_000,
  });
  return {
    stats,
    stop: () => {
      stopped = true;
      return within(stats, 2_000, 'the load');
    },
  };
}

function expectBounded(stats: LoadStats, what: string): void {
  const slow = stats.slowest(3).map((c) => `${c.latencyMs.toFixed(0)} ms ${c.outcome}`);
  console.info(
    `${what}: ${stats.settled} calls (${stats.count('ok')} ok, ${stats.count('rejected')} rejected), slowest ${slow.join(', ')}`,
  );
  expect(stats.settled).toBe(stats.started);
  expect(stats.calls.filter((c) => c.outcome === 'unexpected').map((c) => String(c.error))).toEqual([]);
  expect(stats.maxLatency()).toBeLessThan(LATENCY_BOUND_MS);
}

/** Proves the breaker decides from Redis: another process forces it OPEN, and it refuses at once. */
async function expectDecidesFromRedis(cb: CircuitBreaker, config: CircuitBreakerConfig): Promise<void> {
  const other = breaker(cb.name, config, chaosStore({ processId: 'other' }));
  await other.transitionToOpenState();
  await expect(cb.execute(() => 'x')).rejects.toBeInstanceOf(CallNotPermittedError);
  expect(await cb.getState()).toBe('OPEN');
  await other.transitionToClosedState();
  expect(await cb.execute(() => 'y')).toBe('y');
}

/** The outage events only (STORE_FAILURE, STORE_RECOVERED), runs collapsed. */
function outages(events: { types(): string[] }): string[] {
  return collapse(events.types().filter((t) => t === 'STORE_FAILURE' || t === 'STORE_RECOVERED'));
}

/** Outcomes reported dropped, by reason. */
function dropsOf(events: readonly StoreEvent[]): Record<string, number> {
  const drops: Record<string, number> = {};
  for (const e of events)
    if (e.type === 'OUTCOMES_DROPPED') drops[e.reason] = (drops[e.reason] ?? 0) + e.count;
  return drops;
}

async function storedState(name: string): Promise<{ v: number; state: string }> {
  const raw = await admin.get(breakerKey('breakwater', name));
  return JSON.parse(raw ?? 'null') as { v: number; state: string };
}

describe('chaos under load', () => {
  it('kill -9 Redis and restart it: calls never wait, fall back in-process, and return to Redis', async () => {
    const store = chaosStore();
    const events = captureStoreEvents(store);
    const heard: string[] = [];
    store.onFleetTransition((m) => heard.push(...m.transitions.map((t) => `${m.origin} ${t.from}->${t.to}`)));
    const cb = breaker('chaos-kill', LOADED, store);
    const load = startLoad(cb);
    await sleep(300);
    expect(events.types()).toEqual([]);

    await server.kill('SIGKILL');
    const downAt = performance.now();
    await sleep(600);
    const upAt = performance.now();
    await server.restart();
    await waitUntil(() => events.types().includes('STORE_RECOVERED'), 3_000, 'STORE_RECOVERED');
    await sleep(200);
    const stats = await load.stop();

    expectBounded(stats, 'kill -9');
    expect(outages(events)).toEqual(['STORE_FAILURE', 'STORE_RECOVERED']);

    // while Redis was down, the 'local' policy decided in-process: those calls went through
    const duringOutage = stats.calls.filter((c) => c.startedAt > downAt + 50 && c.startedAt < upAt);
    expect(duringOutage.length).toBeGreaterThan(50);
    expect(duringOutage.every((c) => c.outcome === 'ok')).toBe(true);
    // Redis lost the state (no persistence); the calls since recovery recreated a valid one
    await waitUntil(
      async () => (await storedState('chaos-kill'))?.state === 'CLOSED',
      2_000,
      'the recreated key',
    );
    expect(await storedState('chaos-kill')).toMatchObject({ v: 1, state: 'CLOSED' });
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBeGreaterThan(0);
    await expectDecidesFromRedis(cb, LOADED);
    expect(await store.guardState()).toBe('CLOSED');
    // the fleet-event subscription came back with the connection
    await waitUntil(() => heard.length >= 2, 2_000, 'fleet events after the restart');
    expect(heard).toEqual(['other CLOSED->OPEN', 'other OPEN->CLOSED']);
    // Only the records in flight when Redis died may be lost: sending them again could count them twice.
    cb.close(); // reports what it counted
    expect(Object.keys(dropsOf(events.events)).filter((reason) => reason !== 'unknown')).toEqual([]);
  });

  it('SCRIPT FLUSH under load: transparent (no store failure, no fallback), state intact', async () => {
    const { store, events, cb } = loadedBreaker('chaos-flush');
    const pinned = breaker('chaos-flush-pinned', {}, store);
    await pinned.transitionToForcedOpenState();
    const load = startLoad(cb);
    for (let i = 0; i < 5; i++) {
      await sleep(100);
      await server.flushScripts();
    }
    await sleep(100);
    const stats = await load.stop();

    expectBounded(stats, 'SCRIPT FLUSH');
    expect(stats.count('ok')).toBe(stats.settled);
    expect(events.types()).toEqual([]);
    expect(await pinned.getState()).toBe('FORCED_OPEN');
    const metrics = await cb.getMetrics();
    expect(metrics.numberOfBufferedCalls).toBe(Math.min(100, stats.settled));
    expect(metrics.numberOfFailedCalls).toBe(0);
  });

  it('Redis frozen (SIGSTOP) for 10 command timeouts: calls time out promptly, the guard opens, state survives', async () => {
    const { store, events, cb } = loadedBreaker('chaos-pause');
    const pinned = breaker('chaos-pause-pinned', {}, store);
    await pinned.transitionToOpenState();
    const load = startLoad(cb);
    await sleep(300);

    await server.pause();
    let guardStates: string[] = [];
    try {
      const sampled: string[] = [];
      for (let t = 0; t < 10; t++) {
        await sleep(100);
        sampled.push(await store.guardState());
      }
      guardStates = sampled;
    } finally {
      await server.resume();
    }
    await waitUntil(() => events.types().includes('STORE_RECOVERED'), 3_000, 'STORE_RECOVERED');
    await sleep(200);
    const stats = await load.stop();

    expectBounded(stats, 'SIGSTOP');
    // Nothing lost: what Redis ran late was read late, what was decided in-process was merged.
    expect(collapse(events.types())).toEqual(['STORE_FAILURE', 'STORE_RECOVERED']);
    const failure = events.events.find((e) => e.type === 'STORE_FAILURE') as {
      error: unknown;
      policy: string;
    };
    expect(String(failure.error)).toMatch(/did not answer within 100 ms/);
    expect(failure.policy).toBe('local');
    // the guard breaker stopped sending commands to the frozen server
    expect(guardStates).toContain('OPEN');
    expect(await store.guardState()).toBe('CLOSED');
    // Redis kept its data: what was forced before is still there, and the breaker decides from Redis
    expect(await pinned.getState()).toBe('OPEN');
    expect(await storedState('chaos-pause-pinned')).toMatchObject({ state: 'OPEN' });
    expect(await cb.getState()).toBe('CLOSED');
    await expectDecidesFromRedis(cb, LOADED);
  });
});

describe('before the first connection', () => {
  it('operations that timed out waiting for the first connection are not sent when it comes', async () => {
    // Redis is reachable by the rest of the fleet (admin) and holds an OPEN breaker whose wait ends soon
    const config: CircuitBreakerConfig = {
      ...LOADED,
      permittedNumberOfCallsInHalfOpenState: 1,
      waitDurationInOpenState: 300,
    };
    const fleet = breaker('late-start', config, chaosStore({ processId: 'fleet' }));
    await fleet.transitionToOpenState();

    // a process starts while it cannot get an answer from Redis (frozen: TCP connects, INFO never answers)
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    await server.pause();
    let starting: CircuitBreaker;
    try {
      const store = chaosStore({ processId: 'starting', guard: { failureThreshold: 1_000 } });
      const events = captureStoreEvents(store);
      starting = breaker('late-start', config, store);
      for (let i = 0; i < 15; i++) {
        // each call waits at most the command timeout, then the in-process fallback decides
        const start = performance.now();
        expect(await starting.execute(() => 'local')).toBe('local');
        expect(performance.now() - start).toBeLessThan(LATENCY_BOUND_MS);
      }
      // 15 lone failures: with failureThreshold 1000 the guard never opens, so there is no outage
      expect(outages(events)).toEqual([]);
      await sleep(300); // the fleet's open wait is over
      // It never read the shared state: the outcomes it decided in-process wait to be merged into
      // whichever CLOSED period is current (the shared breaker is OPEN: they will be refused as
      // late, and none is counted as dropped).
      expect(dropsOf(events.events)).toEqual({});
    } finally {
      await server.resume();
    }
    // the starting process reads the shared state once it is connected (its own fallback is CLOSED)
    const shared = await waitUntil(
      async () => ((await starting.getState()) !== 'CLOSED' ? starting.getState() : undefined),
      3_000,
      'the shared state',
    );
    process.off('warning', onWarning);
    expect(shared).toBe('OPEN'); // still OPEN: nobody has called since its wait ended

    // the fleet's next call is its half-open probe: no stale acquire of the starting process took it
    expect(await fleet.execute(() => 'probe')).toBe('probe');
    expect(await fleet.getState()).toBe('CLOSED');
    expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
  });
});

describe('failure policies during an outage', () => {
  const TWO: CircuitBreakerConfig = { slidingWindowSize: 2, minimumNumberOfCalls: 2 };
  const fail = () => Promise.reject(new DownstreamError('down'));

  /** Runs `during` while Redis is down (killed), then restarts it and waits for the store to recover. */
  async function outage(policy: StoreFailurePolicy, during: (cb: CircuitBreaker) => Promise<void>) {
    const store = chaosStore({ onStoreFailure: policy });
    const events = captureStoreEvents(store);
    const cb = breaker(`policy-${policy}`, TWO, store);
    const transitions: string[] = [];
    cb.on('STATE_TRANSITION', (e) => transitions.push(`${e.from}->${e.to}`));
    expect(await cb.execute(() => 'before')).toBe('before');
    // Redis has the success before it dies (a read queues behind the write): otherwise the
    // in-process fallback would count it too, and its window would differ from test to test.
    expect((await cb.getMetrics()).numberOfSuccessfulCalls).toBe(1);
    await server.kill('SIGKILL');
    try {
      await during(cb);
    } finally {
      await server.restart();
    }
    await waitUntil(
      async () => {
        await cb.execute(() => 'probe').catch(() => {});
        return events.types().includes('STORE_RECOVERED');
      },
      3_000,
      'STORE_RECOVERED',
    );
    expect(outages(events)).toEqual(['STORE_FAILURE', 'STORE_RECOVERED']);
    expect((events.events[0] as { policy: string }).policy).toBe(policy);
    return { cb, transitions, store, events };
  }

  /** Times one call: it must settle within the bound. */
  async function timed<T>(fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      expect(performance.now() - start).toBeLessThan(LATENCY_BOUND_MS);
    }
  }

  /**
   * `times` calls through `cb` whose function returns `body()`, each settling in time and rejecting
   * with an `error`; resolves with how many of them ran the function.
   */
  async function rejectedCalls(
    cb: CircuitBreaker,
    times: number,
    body: () => unknown,
    error: abstract new (...args: never[]) => unknown,
  ): Promise<number> {
    let ran = 0;
    for (let i = 0; i < times; i++) {
      await expect(
        timed(() =>
          cb.execute(() => {
            ran++;
            return body();
          }),
        ),
      ).rejects.toBeInstanceOf(error);
    }
    return ran;
  }

  it("'allow' permits every call during an outage, records nothing, and counts what it did not record", async () => {
    let ran = 0;
    const { cb, transitions, events } = await outage('allow', async (cb) => {
      ran = await rejectedCalls(cb, 6, fail, DownstreamError);
      expect(await timed(() => cb.execute(() => 'allowed'))).toBe('allowed');
    });
    expect(ran).toBe(6);
    expect(transitions).toEqual([]); // six failures in a window of two, and nothing opened
    expect(await cb.getState()).toBe('CLOSED');
    cb.close();
    // the 7 calls above, and the probes of `outage()` that Redis did not answer yet
    const { allow, ...rest } = dropsOf(events.events);
    expect(allow).toBeGreaterThanOrEqual(7);
    expect(Object.keys(rest).filter((reason) => reason !== 'unknown')).toEqual([]);
  });

  it("'deny' refuses every call during an outage with CallNotPermittedError", async () => {
    let ran = 0;
    const { cb } = await outage('deny', async (cb) => {
      ran = await rejectedCalls(cb, 5, () => 'never', CallNotPermittedError);
      // what calls get: every one refused, as by an OPEN breaker
      expect(await timed(() => cb.getState())).toBe('OPEN');
    });
    expect(ran).toBe(0);
    expect(await cb.execute(() => 'after')).toBe('after');
  });

  it("'local' decides in-process during an outage (it trips locally), and carries its outcomes and trip to Redis", async () => {
    let ran = 0;
    const { cb, transitions } = await outage('local', async (cb) => {
      ran = await rejectedCalls(cb, 2, fail, DownstreamError);
      // the in-process fallback saw two failures in its window of two: it is open, locally
      const refused = await timed(() => cb.execute(() => 'never')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CallNotPermittedError);
    });
    expect(ran).toBe(2);
    // Redis (restarted, empty) receives the two failures when it answers again: the shared breaker
    // opens too, and every process sharing it now refuses.
    expect(await cb.getState()).toBe('OPEN');
    expect(await storedState('policy-local')).toMatchObject({ state: 'OPEN' });
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(2);
    expect(transitions).toEqual(['CLOSED->OPEN', 'CLOSED->OPEN']); // in-process, then shared
  });
});

describe('Redis out of memory', () => {
  it('one STORE_FAILURE / STORE_RECOVERED pair for the whole OOM, not one per failed write (reads still pass)', async () => {
    const store = chaosStore({ guard: { failureThreshold: 3, waitDurationMs: 500 } });
    const events = captureStoreEvents(store);
    // A steady breaker (a full window of successes: its batches only read) and one whose every
    // batch writes (a failure in its window).
    const steady = breaker('oom-steady', { slidingWindowSize: 4, minimumNumberOfCalls: 4 }, store);
    const writing = breaker('oom-writing', { slidingWindowSize: 50, minimumNumberOfCalls: 50 }, store);
    for (let i = 0; i < 4; i++) await steady.execute(() => 'ok');
    await writing.execute(() => Promise.reject(new DownstreamError('down'))).catch(() => {});
    await admin.config('SET', 'maxmemory', '1');
    try {
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        await Promise.all([steady.execute(() => 'ok'), writing.execute(() => 'ok')]);
        await sleep(5);
      }
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    await waitUntil(() => events.types().includes('STORE_RECOVERED'), 3_000, 'STORE_RECOVERED');
    expect(outages(events)).toEqual(['STORE_FAILURE', 'STORE_RECOVERED']);
    expect(events.types().filter((t) => t === 'STORE_FAILURE')).toHaveLength(1);
    const failure = events.events.find((e) => e.type === 'STORE_FAILURE') as { error: unknown };
    expect(String(failure.error)).toMatch(/OOM/);
  });
});

describe('a breaker closed while Redis is away', () => {
  it('counts the outcomes that still waited for Redis as dropped (closed)', async () => {
    const { events, cb } = loadedBreaker('closed-waiting');
    expect(await cb.execute(() => 'shared')).toBe('shared');
    await sleep(20); // that success reached Redis
    await server.kill('SIGKILL');
    try {
      for (let i = 0; i < 5; i++) expect(await cb.execute(() => 'in-process')).toBe('in-process');
      cb.close();
      expect(dropsOf(events.events)).toEqual({ closed: 5 });
    } finally {
      await server.restart();
    }
  });
});

describe('a reply the store cannot apply', () => {
  it('fails that batch alone (POLICY_FAILURE, the failure policy decides): no unhandled rejection, every call settles', async () => {
    const { store, events: captured, cb } = loadedBreaker('unappliable');
    expect(await cb.execute(() => 'through Redis')).toBe('through Redis');
    // A script of some other version, answering in a shape this one cannot read: an acquire's
    // result that is not a list.
    const internals = store as unknown as {
      runner: { scripts: Map<string, (key: string, ...args: unknown[]) => Promise<unknown>> };
    };
    const real = internals.runner.scripts.get('breakwaterBreaker')!;
    internals.runner.scripts.set('breakwaterBreaker', async () =>
      JSON.stringify({ r: [null, null], t: [], x: [] }),
    );
    const results = await within(
      Promise.all([cb.execute(() => 'a'), cb.execute(() => 'b')]),
      LATENCY_BOUND_MS,
      'the calls',
    );
    expect(results).toEqual(['a', 'b']); // decided in-process ('local')
    // A problem of this breaker's request, not of Redis: the store stays healthy for every other policy.
    expect(captured.types()).toEqual(['POLICY_FAILURE']);
    expect(await store.guardState()).toBe('CLOSED');
    internals.runner.scripts.set('breakwaterBreaker', real);
    expect(await cb.execute(() => 'back')).toBe('back');
  });
});
