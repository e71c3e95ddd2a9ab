/**
 * RedisStore against one real redis-server (started by the harness): options, keys, memory,
 * garbage in keys, SCRIPT FLUSH, two stores sharing a state, close(), pub/sub, and the exact ACL a
 * restricted Redis user needs.
 */
import {
  Bulkhead,
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  ConfigError,
  MAX_POLICY_NAME_LENGTH,
  RateLimiter,
  RequestNotPermittedError,
} from '@breakwater/core';
import { type FleetTransitionMessage, RedisStore, type RedisStoreOptions } from '@breakwater/store-redis';
import { describe, expect, it } from 'vitest';
import { parseInfo } from '../support/redis-harness.js';
import { BREAKER_COMMANDS, restrictedUser } from './acl.js';
import { captureStoreEvents, DownstreamError, redisSuite, sleep, waitUntil } from './helpers.js';

const redis = redisSuite();
const { cleanup, store, breaker } = redis;

const fail = () => Promise.reject(new DownstreamError('down'));
const keyOf = (name: string, prefix = 'breakwater') => `${prefix}:{cb:${name}}:state`;
const TWO_CALLS: CircuitBreakerConfig = { slidingWindowSize: 2, minimumNumberOfCalls: 2 };

async function clientCount(): Promise<number> {
  const list = String(await redis.client.client('LIST'));
  return list.split('\n').filter((line) => line.trim() !== '').length;
}

async function subscribers(channel: string): Promise<number> {
  const reply = (await redis.client.pubsub('NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

describe('options', () => {
  it.each<[string, Record<string, unknown>]>([
    ['no client', {}],
    ['a client that is not ioredis', { client: { get: () => 1 } }],
    ['an unknown option', { timeout: 5 }],
    ['an unknown failure policy', { onStoreFailure: 'retry' }],
    ['a zero command timeout', { commandTimeout: 0 }],
    ['a non-numeric command timeout', { commandTimeout: '100' }],
    ['a key TTL under a second', { keyTtlMs: 500 }],
    ['a fractional lease', { halfOpenLeaseMs: 1.5 }],
    ['a zero lease', { halfOpenLeaseMs: 0 }],
    ['an empty prefix', { keyPrefix: '' }],
    ['a prefix with a hash tag', { keyPrefix: 'a{b}' }],
    ['a prefix with a space', { keyPrefix: 'a b' }],
    ['a prefix longer than 64', { keyPrefix: 'p'.repeat(65) }],
    ['a guard threshold of 0', { guard: { failureThreshold: 0 } }],
    ['an unknown guard option', { guard: { threshold: 3 } }],
    ['a zero guard wait', { guard: { waitDurationMs: 0 } }],
    ['an unknown clock', { clock: 'local' }],
    ['publishEvents not a boolean', { publishEvents: 'yes' }],
    ['an empty processId', { processId: '' }],
  ])('rejects %s with a ConfigError', (_what, bad) => {
    const options = 'client' in bad || Object.keys(bad).length === 0 ? bad : { client: redis.client, ...bad };
    expect(() => new RedisStore(options as unknown as RedisStoreOptions)).toThrow(ConfigError);
  });

  it('rejects a missing options object with a ConfigError, not a TypeError', () => {
    expect(() => new RedisStore(undefined as unknown as RedisStoreOptions)).toThrow(ConfigError);
  });

  it('accepts every option at once and reports the resolved settings', () => {
    const s = store({
      keyPrefix: 'acme',
      onStoreFailure: 'deny',
      commandTimeout: 50,
      keyTtlMs: 60_000,
      halfOpenLeaseMs: 500,
      guard: { failureThreshold: 5, waitDurationMs: 200 },
      clock: 'redis',
      publishEvents: false,
      processId: 'web-1',
    });
    expect(s.kind).toBe('redis');
    expect(s.options).toMatchObject({
      keyPrefix: 'acme',
      onStoreFailure: 'deny',
      commandTimeout: 50,
      guardFailureThreshold: 5,
      guardWaitDurationMs: 200,
      processId: 'web-1',
    });
  });

  it('defaults: local fallback, 100 ms timeout, a day of TTL, one-minute lease, hostname:pid', () => {
    const s = store({ commandTimeout: undefined });
    expect(s.options).toMatchObject({
      keyPrefix: 'breakwater',
      onStoreFailure: 'local',
      commandTimeout: 100,
      keyTtlMs: 86_400_000,
      halfOpenLeaseMs: 60_000,
      clock: 'redis',
      publishEvents: true,
    });
    expect(s.options.processId).toMatch(new RegExp(`:${process.pid}$`));
  });

  it('invalid breaker names get a ConfigError from CircuitBreaker; the longest legal name works', async () => {
    const s = store();
    expect(() => CircuitBreaker.of('', {}, { store: s })).toThrow(ConfigError);
    expect(() => CircuitBreaker.of('n'.repeat(MAX_POLICY_NAME_LENGTH + 1), {}, { store: s })).toThrow(
      ConfigError,
    );
    expect(() => CircuitBreaker.of('line\nbreak', {}, { store: s })).toThrow(ConfigError);
    const longest = 'n'.repeat(MAX_POLICY_NAME_LENGTH);
    const cb = breaker(longest, TWO_CALLS, s);
    await cb.execute(fail).catch(() => {});
    await cb.getState();
    expect(await redis.client.exists(keyOf(longest))).toBe(1);
  });
});

describe('keys', () => {
  it('one hash-tagged key per breaker, <prefix>:{cb:<name>}:state, with the configured TTL', async () => {
    const s = store({ keyPrefix: 'acme', keyTtlMs: 60_000 });
    const cb = breaker('payments/kr', TWO_CALLS, s);
    await cb.execute(() => 'ok');
    await cb.getState(); // the outcome is recorded without an await: this read queues behind it
    expect(await redis.client.keys('acme:*')).toEqual(['acme:{cb:payments/kr}:state']);
    const ttl = await redis.client.pttl('acme:{cb:payments/kr}:state');
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // every write refreshes the TTL
    await sleep(50);
    await cb.execute(() => 'ok');
    await cb.getState();
    expect(await redis.client.pttl('acme:{cb:payments/kr}:state')).toBeGreaterThan(ttl - 50);
    // the default TTL is a day
    const other = breaker('payments/jp', TWO_CALLS, store());
    await other.execute(() => 'ok');
    await other.getState();
    expect(await redis.client.pttl(keyOf('payments/jp'))).toBeGreaterThan(86_000_000);
  });

  it('the key expires when the breaker is idle; the breaker then starts afresh without an error', async () => {
    const s = store({ keyPrefix: 'ttl', keyTtlMs: 1_000 });
    const cb = breaker('short-lived', TWO_CALLS, s);
    await cb.execute(fail).catch(() => {});
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(1);
    await waitUntil(
      async () => (await redis.client.exists('ttl:{cb:short-lived}:state')) === 0,
      3_000,
      'expiry',
    );
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    expect(await cb.execute(() => 'fresh')).toBe('fresh');
  });

  it('a full window of successes, which calls only read, keeps its key alive while calls go on', async () => {
    const s = store({ keyPrefix: 'ttl', keyTtlMs: 1_000 }); // renewed at most every 250 ms
    const cb = breaker('steady', TWO_CALLS, s);
    const key = 'ttl:{cb:steady}:state';
    for (let i = 0; i < 3; i++) await cb.execute(() => 'ok');
    await cb.getState();
    const steady = await redis.client.get(key);
    const until = Date.now() + 1_600;
    let lowest = Number.POSITIVE_INFINITY;
    while (Date.now() < until) {
      await cb.execute(() => 'ok');
      lowest = Math.min(lowest, await redis.client.pttl(key));
      await sleep(20);
    }
    expect(await redis.client.get(key)).toBe(steady); // never rewritten...
    expect(lowest).toBeGreaterThan(500); // ...yet renewed, long before it could expire
  });

  it('each process asks for that renewal at most once per period by its clock, and at once if its clock went back', async () => {
    let t = 1_000_000;
    const s = store({ keyPrefix: 'ttl', keyTtlMs: 1_000 }); // a renewal period of 250 ms
    const cb = CircuitBreaker.of('renewals', TWO_CALLS, { store: s, clock: { now: () => t } });
    cleanup.push(() => cb.close());
    const key = 'ttl:{cb:renewals}:state';
    for (let i = 0; i < 3; i++) await cb.execute(() => 'ok');
    await cb.getState(); // a full window of successes from here on: calls only read it
    const call = async (advance: number) => {
      t += advance;
      await redis.client.pexpire(key, 600);
      await cb.execute(() => 'ok');
      await cb.execute(() => 'ok'); // (a read would go through the machine, which writes)
      return redis.client.pttl(key);
    };
    expect(await call(100)).toBeLessThanOrEqual(600); // within the period: only read
    expect(await call(300)).toBeGreaterThan(900); // a period later: renewed
    expect(await call(100)).toBeLessThanOrEqual(600);
    expect(await call(-10_000)).toBeGreaterThan(900); // the clock went back: renewed at once
    expect(await call(100)).toBeLessThanOrEqual(600);
  });

  it('MEMORY USAGE of a COUNT_BASED breaker with a full window of 100 is at most 1 KB', async () => {
    const cb = breaker('memory', { slidingWindowSize: 100, minimumNumberOfCalls: 100 }, store());
    for (let i = 0; i < 120; i++) await cb.execute(i % 7 === 0 ? fail : () => i).catch(() => {});
    const metrics = await cb.getMetrics();
    expect(metrics.numberOfBufferedCalls).toBe(100);
    expect(await cb.getState()).toBe('CLOSED');
    const bytes = Number(await redis.client.call('MEMORY', 'USAGE', keyOf('memory'), 'SAMPLES', '0'));
    console.info(`MEMORY USAGE, COUNT_BASED window 100: ${bytes} bytes`);
    expect(bytes).toBeLessThanOrEqual(1024);
  });
});

describe('garbage in a key', () => {
  it.each<[string, (key: string) => Promise<unknown>, RegExp]>([
    ['text that is not JSON', (key) => redis.client.set(key, 'OPEN since tuesday'), /not JSON/],
    ['a hash', (key) => redis.client.hset(key, 'state', 'OPEN'), /hash/],
    ['a list', (key) => redis.client.rpush(key, 'a', 'b'), /list/],
    ['a JSON number', (key) => redis.client.set(key, '42'), /not an object/],
    [
      'JSON of an unknown state',
      (key) => redis.client.set(key, '{"v":1,"state":"SIDEWAYS"}'),
      /unknown state/,
    ],
    [
      'JSON without a version',
      (key) => redis.client.set(key, '{"state":"OPEN","openUntil":1e15}'),
      /version/,
    ],
    [
      'a state whose window is not a window',
      (key) =>
        redis.client.set(
          key,
          JSON.stringify({
            v: 1,
            state: 'OPEN',
            generation: 1,
            since: 0,
            openUntil: 1e15,
            attempts: 1,
            halfOpenAvailable: 0,
            consecutiveFailures: 0,
            notPermitted: 0,
            window: { type: 'COUNT', size: 2, ring: 'x' },
          }),
        ),
      /window/,
    ],
  ])('%s: the breaker resets with a STATE_RESET event; callers see no error', async (what, write, reason) => {
    const s = store();
    const captured = captureStoreEvents(s);
    const name = `garbage-${what.replaceAll(' ', '-')}`;
    const cb = breaker(name, TWO_CALLS, s);
    const transitions: string[] = [];
    cb.on('STATE_TRANSITION', (e) => transitions.push(`${e.from}->${e.to}`));
    await sleep(20); // let the breaker's initial state read land before the key is spoiled
    await write(keyOf(name));

    expect(await cb.execute(() => 'still works')).toBe('still works');
    const resets = captured.events.filter((e) => e.type === 'STATE_RESET');
    expect(resets).toHaveLength(1);
    expect(resets[0]).toMatchObject({ kind: 'store', type: 'STATE_RESET', name: 'breakwater', policy: name });
    expect((resets[0] as { reason: string }).reason).toMatch(reason);
    expect(captured.types()).not.toContain('STORE_FAILURE');

    // the key holds a valid state again, and the breaker keeps working from it
    expect(await redis.client.type(keyOf(name))).toBe('string');
    expect(JSON.parse((await redis.client.get(keyOf(name)))!)).toMatchObject({ v: 1, state: 'CLOSED' });
    expect(await cb.getState()).toBe('CLOSED');
    await cb.execute(fail).catch(() => {});
    await cb.execute(fail).catch(() => {});
    expect(await cb.getState()).toBe('OPEN');
    expect(transitions).toEqual(['CLOSED->OPEN']);
    expect(captured.events.filter((e) => e.type === 'STATE_RESET')).toHaveLength(1);
  });

  it('garbage found by a manual call (getState, transition) resets too, without an error', async () => {
    const s = store();
    const captured = captureStoreEvents(s);
    const cb = breaker('garbage-manual', TWO_CALLS, s);
    await sleep(20);
    await redis.client.set(keyOf('garbage-manual'), '{"v":1');
    expect(await cb.getState()).toBe('CLOSED');
    await redis.client.del(keyOf('garbage-manual'));
    await redis.client.sadd(keyOf('garbage-manual'), 'x');
    await cb.transitionToOpenState();
    expect(await cb.getState()).toBe('OPEN');
    expect(captured.types()).toEqual(['STATE_RESET', 'STATE_RESET']);
  });
});

describe("one policy's error", () => {
  it("is that policy's alone: the store stays on Redis for the others (an operator's FORCED_OPEN holds)", async () => {
    const s = store({ commandTimeout: 500 });
    const captured = captureStoreEvents(s);
    const pinned = breaker('isolation-pinned', TWO_CALLS, s);
    await pinned.transitionToForcedOpenState();
    // A request Redis refuses for this policy alone: an ill-formed name (which every policy now
    // refuses at construction) reaches the script only through the store contract itself, and
    // Lua's cjson cannot decode it.
    const resolved = CircuitBreaker.of('isolation-probe', TWO_CALLS).config;
    const refused = s.circuitBreaker('bad-\uD83D', resolved, () => {});
    for (let i = 0; i < 20; i++) {
      expect(await refused.acquire(Date.now())).toBeGreaterThanOrEqual(0); // the failure policy decides
    }
    refused.close();
    expect(await s.guardState()).toBe('CLOSED');
    expect(captured.types().filter((t) => t === 'STORE_FAILURE')).toEqual([]);
    expect(captured.types()).toContain('POLICY_FAILURE');
    // The forced breaker is still read from Redis: every call is refused.
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => pinned.execute(() => 'through')),
    );
    expect(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof CallNotPermittedError),
    ).toHaveLength(20);
  });
});

describe('scripts', () => {
  it('survives SCRIPT FLUSH: NOSCRIPT is answered with one EVAL, no store failure, state intact', async () => {
    const s = store();
    const captured = captureStoreEvents(s);
    const cb = breaker('flushed', { slidingWindowSize: 10, minimumNumberOfCalls: 10 }, s);
    for (let i = 0; i < 3; i++) await cb.execute(fail).catch(() => {});
    const evalsBefore = Number(
      parseInfo(String(await redis.client.info('commandstats'))).cmdstat_eval?.match(/calls=(\d+)/)?.[1] ?? 0,
    );

    await redis.server.flushScripts();
    expect(await cb.execute(() => 'after flush')).toBe('after flush');
    await redis.server.flushScripts();
    await cb.execute(fail).catch(() => {});

    const stats = parseInfo(String(await redis.client.info('commandstats')));
    const evals = Number(stats.cmdstat_eval?.match(/calls=(\d+)/)?.[1] ?? 0);
    expect(evals - evalsBefore).toBe(2);
    expect(captured.types()).toEqual([]);
    const metrics = await cb.getMetrics();
    expect(metrics.numberOfFailedCalls).toBe(4);
    expect(metrics.numberOfSuccessfulCalls).toBe(1);
  });
});

describe('sharing', () => {
  it('two stores on two clients share one state per name', async () => {
    const otherClient = redis.server.client();
    const a = breaker('shared', TWO_CALLS, store({ processId: 'proc-a' }));
    const bStore = store({ processId: 'proc-b' }, otherClient);
    const b = breaker('shared', TWO_CALLS, bStore);

    // one failure in each process fills the shared window of 2: both see OPEN
    await a.execute(fail).catch(() => {});
    await b.execute(fail).catch(() => {});
    // An outcome is recorded without awaiting Redis (it rides with the next operation on its own
    // connection), so the other connection may read before b's record lands: wait for it.
    await waitUntil(async () => (await a.getState()) === 'OPEN', 2_000, 'OPEN seen through a');
    await expect(a.execute(() => 'x')).rejects.toBeInstanceOf(CallNotPermittedError);
    await expect(b.execute(() => 'x')).rejects.toBeInstanceOf(CallNotPermittedError);

    // a manual transition in one is the other's state
    await b.transitionToClosedState();
    expect(await a.getState()).toBe('CLOSED');
    expect(await a.execute(() => 'back')).toBe('back');
    await a.transitionToForcedOpenState();
    expect(await b.getState()).toBe('FORCED_OPEN');
    otherClient.disconnect();
  });

  it('a rolling deploy that changes slidingWindowSize: the two versions still open the breaker together', async () => {
    // Old and new processes of one service during a deploy: same breaker, window 10 vs 20.
    // Today each one's script finds the other's window "not matching the config", wipes the state
    // (STATE_RESET) and starts afresh, so a failure storm never opens the breaker while both run.
    const s = store();
    const captured = captureStoreEvents(s);
    const oldVersion = breaker('deploy', { slidingWindowSize: 10, minimumNumberOfCalls: 4 }, s);
    const newVersion = breaker('deploy', { slidingWindowSize: 20, minimumNumberOfCalls: 4 }, s);
    for (let i = 0; i < 4; i++) {
      await oldVersion.execute(fail).catch(() => {});
      await newVersion.execute(fail).catch(() => {});
    }
    const resets = captured.events.filter((e) => e.type === 'STATE_RESET').length;
    expect({ state: await oldVersion.getState(), resets }).toEqual({ state: 'OPEN', resets: 0 });
  });

  it('the same name in one process: both breakers see each other', async () => {
    const s = store();
    const a = breaker('twins', TWO_CALLS, s);
    const b = breaker('twins', TWO_CALLS, s);
    await Promise.all([a.execute(fail).catch(() => {}), b.execute(fail).catch(() => {})]);
    expect(await b.getState()).toBe('OPEN');
    expect(await a.getState()).toBe('OPEN');
  });

  it("onFleetTransition: a second store sees the first one's transitions with its processId", async () => {
    const otherClient = redis.server.client();
    const listener = new RedisStore({ client: otherClient, processId: 'listener' });
    cleanup.push(() => listener.close());
    const seen: FleetTransitionMessage[] = [];
    const off = listener.onFleetTransition((m) => seen.push(m));
    await waitUntil(async () => (await subscribers('breakwater:events')) === 1, 2_000, 'SUBSCRIBE');

    const cb = breaker('announced', TWO_CALLS, store({ processId: 'web-7' }));
    await cb.execute(fail).catch(() => {});
    await cb.execute(fail).catch(() => {});
    expect(await cb.getState()).toBe('OPEN');
    await cb.transitionToClosedState();
    await waitUntil(() => seen.length >= 2, 2_000, 'two fleet messages');
    expect(seen[0]).toMatchObject({
      kind: 'circuitbreaker',
      name: 'announced',
      origin: 'web-7',
      transitions: [{ from: 'CLOSED', to: 'OPEN', reason: 'FAILURE_RATE' }],
    });
    expect(seen[1]).toMatchObject({
      origin: 'web-7',
      transitions: [{ from: 'OPEN', to: 'CLOSED', reason: 'MANUAL' }],
    });
    expect(seen[0].transitions[0].at).toBeGreaterThan(Date.now() - 10_000);

    // the last listener leaving closes the subscription
    off();
    await waitUntil(async () => (await subscribers('breakwater:events')) === 0, 2_000, 'UNSUBSCRIBE');
    otherClient.disconnect();
  });

  it('publishEvents: false publishes nothing', async () => {
    const listener = store({ processId: 'listener' });
    const seen: FleetTransitionMessage[] = [];
    listener.onFleetTransition((m) => seen.push(m));
    await waitUntil(async () => (await subscribers('breakwater:events')) === 1, 2_000, 'SUBSCRIBE');
    const quiet = breaker('quiet', TWO_CALLS, store({ publishEvents: false }));
    const loud = breaker('loud', TWO_CALLS, store());
    await quiet.transitionToOpenState();
    await loud.transitionToOpenState();
    await waitUntil(() => seen.length >= 1, 2_000, 'the loud transition');
    await sleep(50);
    expect(seen.map((m) => m.name)).toEqual(['loud']);
  });
});

describe('close()', () => {
  it("releases the store's connections and subscription; the user's client stays open", async () => {
    await sleep(50);
    const baseline = await clientCount();
    const s = new RedisStore({ client: redis.client, commandTimeout: 1_000 });
    const cb = CircuitBreaker.of('closing', TWO_CALLS, { store: s });
    s.onFleetTransition(() => {});
    await cb.execute(() => 'ok');
    await waitUntil(async () => (await subscribers('breakwater:events')) === 1, 2_000, 'SUBSCRIBE');
    expect(await clientCount()).toBe(baseline + 2); // the store's command connection + its subscriber

    cb.close();
    await s.close();
    await waitUntil(async () => (await clientCount()) === baseline, 2_000, 'connections released');
    expect(await subscribers('breakwater:events')).toBe(0);
    expect(redis.client.status).toBe('ready');
    expect(await redis.client.ping()).toBe('PONG');
    await s.close(); // idempotent
  });

  it('a breaker of a closed store falls back instead of throwing', async () => {
    const s = new RedisStore({ client: redis.client, onStoreFailure: 'allow' });
    const cb = CircuitBreaker.of('orphan', TWO_CALLS, { store: s });
    await s.close();
    expect(await cb.execute(() => 'allowed')).toBe('allowed');
    cb.close();
  });
});

describe('ACL', () => {
  // Keys under the prefix, one channel, BREAKER_COMMANDS (helpers.ts says why each).
  const breakerUser = (user: string, commands = BREAKER_COMMANDS) =>
    restrictedUser(redis, user, 'bw-secret', 'breakwater:events', commands);

  it('a user restricted to exactly the documented commands can run everything the store does', async () => {
    const clientOf = await breakerUser('breakwater');
    const restricted = clientOf();
    const listenerClient = clientOf();
    const s = store({ processId: 'acl' }, restricted);
    const listener = store({}, listenerClient);
    const captured = captureStoreEvents(s);
    const seen: FleetTransitionMessage[] = [];
    listener.onFleetTransition((m) => seen.push(m));
    await waitUntil(async () => (await subscribers('breakwater:events')) === 1, 2_000, 'SUBSCRIBE');

    const cb = breaker('acl', TWO_CALLS, s);
    for (let i = 0; i < 4; i++) expect(await cb.execute(() => 'ok')).toBe('ok'); // a full window: PEXPIRE
    await redis.server.flushScripts(); // NOSCRIPT -> EVAL
    await cb.execute(fail).catch(() => {});
    await cb.execute(fail).catch(() => {});
    expect(await cb.getState()).toBe('OPEN');
    await redis.client.del(keyOf('acl'));
    await redis.client.hset(keyOf('acl'), 'x', 'y'); // garbage -> TYPE + DEL
    await cb.transitionToClosedState();
    expect(await cb.getState()).toBe('CLOSED');
    await waitUntil(() => seen.length >= 1, 2_000, 'fleet message');

    expect(captured.types()).toEqual(['STATE_RESET']);
    expect(await redis.client.call('ACL', 'LOG')).toEqual([]);
    // and the restriction is real: anything else is refused
    await expect(restricted.call('KEYS', '*')).rejects.toThrow(/NOPERM/);
    await expect(restricted.get('elsewhere')).rejects.toThrow(/NOPERM/);
    await redis.client.call('ACL', 'LOG', 'RESET');
    await s.close();
    await listener.close();
    expect(await redis.client.call('ACL', 'LOG')).toEqual([]); // QUIT too
    restricted.disconnect();
    listenerClient.disconnect();
  });

  it('the full list for every policy (breaker, rate limiter, bulkhead) as the README documents it', async () => {
    const restricted = (
      await restrictedUser(redis, 'breakwater-all', 'bw-secret', 'breakwater:*', [
        ...['evalsha', 'eval', 'info', 'quit', 'subscribe', 'unsubscribe'],
        ...['time', 'get', 'set', 'del', 'type', 'publish', 'pexpire'],
        ...['zadd', 'zcard', 'zrange', 'zrem', 'zremrangebyscore', 'zscore'],
      ])
    )();
    const s = store({}, restricted);
    const captured = captureStoreEvents(s);

    const cb = breaker('acl-all', TWO_CALLS, s);
    await cb.execute(fail).catch(() => {});
    await cb.execute(fail).catch(() => {});
    expect(await cb.getState()).toBe('OPEN');
    for (const algorithm of ['fixed-window', 'gcra'] as const) {
      const limiter = RateLimiter.of(
        `acl-${algorithm}`,
        { limitForPeriod: 2, limitRefreshPeriod: 60_000, timeoutDuration: 0, algorithm },
        { store: s },
      );
      const outcomes = await Promise.all(
        [1, 2, 3].map((n) => limiter.execute(() => n).catch((e: unknown) => e)),
      );
      expect(outcomes[0]).toBe(1);
      expect(outcomes[2]).toBeInstanceOf(RequestNotPermittedError);
    }
    const bulkhead = Bulkhead.of(
      'acl-bulkhead',
      { maxConcurrentCalls: 1, maxWaitDuration: 2_000 },
      { store: s },
    );
    let release = () => {};
    const first = bulkhead.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await sleep(50);
    const second = bulkhead.execute(() => 'second'); // waits for the slot: subscribes to its notices
    await sleep(100);
    release();
    await first;
    expect(await second).toBe('second');

    expect(captured.types()).toEqual([]);
    await s.close();
    expect(await redis.client.call('ACL', 'LOG')).toEqual([]);
    restricted.disconnect();
  });

  it('without one of them, the store reports a failure and falls back (no error reaches the caller)', async () => {
    const restricted = (
      await breakerUser(
        'no-time',
        BREAKER_COMMANDS.filter((c) => c !== 'time'),
      )
    )();
    const s = store({}, restricted);
    const captured = captureStoreEvents(s);
    const cb = breaker('acl-missing', TWO_CALLS, s);
    // every call fails the same way: the third in a row opens the store's guard (the outage)
    for (let i = 0; i < 3; i++) expect(await cb.execute(() => 'fallback')).toBe('fallback');
    await waitUntil(() => captured.types().includes('STORE_FAILURE'), 2_000, 'STORE_FAILURE');
    const failure = captured.events.find((e) => e.type === 'STORE_FAILURE') as { error: unknown };
    expect(String(failure.error)).toMatch(/NOPERM|can't run this command/i);
    restricted.disconnect();
  });
});
