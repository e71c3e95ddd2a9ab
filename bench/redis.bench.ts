/**
 * Issue 4's benchmark: a breaker on RedisStore against raw Redis on the same loopback server
 * (started here, on a free port), in one process.
 * - sequential: one `cb.execute` after another vs one PING after another (target <= 1.3x: one
 *   round trip per call, the outcome riding with the next call's acquire);
 * - 64 concurrent callers on one breaker vs 64 concurrent PINGs (target: at least 0.7x PING's
 *   throughput) and vs rate-limiter-flexible's `consume` at the same concurrency (target: faster),
 *   and our fleet-wide rate limiter against the same (for the record);
 * - Redis memory per breaker, COUNT_BASED window of 100 (target <= 1 KB).
 */
import { CircuitBreaker, RateLimiter } from '@breakwater/core';
import { RedisStore } from '@breakwater/store-redis';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { type RedisServer, startRedis, stopAll } from '../test/support/redis-harness.js';
import { defineSuite, type Invoke, nsRatio, unavailableUnless } from './harness.js';

const CONCURRENCY = 64;
let server: RedisServer | undefined;
let client: Redis;
let store: RedisStore;

async function ready(): Promise<void> {
  if (server !== undefined) return;
  server = await startRedis();
  client = server.client();
  store = new RedisStore({ client, keyPrefix: 'bench', commandTimeout: 1_000 });
}

const value = async () => 1;

function concurrently(call: () => Promise<unknown>): Invoke {
  return () => {
    const calls: Promise<unknown>[] = new Array(CONCURRENCY);
    for (let i = 0; i < CONCURRENCY; i++) calls[i] = call();
    return Promise.all(calls);
  };
}

function breaker(name: string): CircuitBreaker {
  return CircuitBreaker.of(name, { slidingWindowSize: 100 }, { store });
}

export default defineSuite({
  description:
    'circuit breaker on RedisStore vs raw Redis and rate-limiter-flexible, loopback redis-server 7',
  unavailable: unavailableUnless(ready, 'no redis-server could be started'),
  cases: [
    {
      id: 'ping',
      label: 'PING, sequential',
      setup: async () => {
        await ready();
        return () => client.ping();
      },
    },
    {
      id: 'ours-seq',
      label: 'ours cb.execute on RedisStore, sequential',
      setup: async () => {
        await ready();
        const cb = breaker('seq');
        return () => cb.execute(value);
      },
    },
    {
      // The floor of any one-script-per-call design: EVALSHA of a script that does nothing, with
      // the arguments our breaker sends on its hot path (key, clock, packed config, origin, a
      // record and an acquire). Not a target; it shows what the round trip itself allows.
      id: 'evalsha-noop',
      label: 'floor: EVALSHA return 1, our arguments',
      setup: async () => {
        await ready();
        client.defineCommand('benchNoop', { numberOfKeys: 1, lua: 'return 1' });
        // The packed config of `breaker('seq')` as RedisStore sends it (a JSON string of lines).
        const lines =
          '86400000|COUNT|100|100|10|50|100|10|0|OPEN|0|0|0|rate|10|60000|bench:events|seq||60000';
        const config = JSON.stringify(lines.replaceAll('|', '\n'));
        const hotPath = 'R0,0,0 A'; // a success of generation 0 and the next call's acquire
        const args = ['bench:{cb:noop}:state', '', config, 'bench-origin', hotPath];
        const call = (client as unknown as Record<string, (...a: string[]) => Promise<unknown>>).benchNoop;
        return () => call.apply(client, args);
      },
    },
    {
      id: 'ping-64',
      label: `PING x ${CONCURRENCY} concurrent (per batch)`,
      setup: async () => {
        await ready();
        return concurrently(() => client.ping());
      },
    },
    {
      id: 'ours-64',
      label: `ours cb.execute x ${CONCURRENCY} concurrent, one breaker`,
      setup: async () => {
        await ready();
        const cb = breaker('c64');
        return concurrently(() => cb.execute(value));
      },
    },
    {
      id: 'ours-rl-64',
      label: `ours RateLimiter.execute on RedisStore x ${CONCURRENCY} concurrent`,
      setup: async () => {
        await ready();
        const limiter = RateLimiter.of(
          'rl-c64',
          { limitForPeriod: 1_000_000_000, limitRefreshPeriod: 60_000, timeoutDuration: 0 },
          { store },
        );
        return concurrently(() => limiter.execute(value));
      },
    },
    {
      id: 'rlf-64',
      label: `rate-limiter-flexible consume x ${CONCURRENCY} concurrent`,
      setup: async () => {
        await ready();
        const limiter = new RateLimiterRedis({
          storeClient: client,
          points: 1e12,
          duration: 60,
          keyPrefix: 'rlf',
        });
        return concurrently(() => limiter.consume('bench'));
      },
    },
  ],
  ratios: [
    nsRatio('seq-vs-ping', 'sequential: ours / PING', 'ours-seq', 'ping', 1.3),
    nsRatio('floor-vs-ping', 'floor: EVALSHA return 1 / PING', 'evalsha-noop', 'ping'),
    nsRatio('seq-vs-floor', 'sequential: ours / floor', 'ours-seq', 'evalsha-noop'),
    nsRatio(
      'c64-vs-ping',
      `${CONCURRENCY} concurrent: ours / PING time (<= 1.43x is >= 0.7x throughput)`,
      'ours-64',
      'ping-64',
      1 / 0.7,
    ),
    nsRatio(
      'c64-vs-rlf',
      `${CONCURRENCY} concurrent: ours / rate-limiter-flexible time`,
      'ours-64',
      'rlf-64',
      1,
    ),
    nsRatio(
      'rl-c64-vs-rlf',
      `${CONCURRENCY} concurrent: our rate limiter / rate-limiter-flexible time`,
      'ours-rl-64',
      'rlf-64',
    ),
  ],
  checks: [
    {
      id: 'memory-per-breaker',
      label: 'Redis memory per breaker (COUNT_BASED, window 100, full)',
      run: async () => {
        await ready();
        const cb = breaker('memory');
        for (let i = 0; i < 150; i++) {
          await cb.execute(i % 7 === 0 ? () => Promise.reject(new Error('x')) : value).catch(() => undefined);
        }
        await cb.getState();
        const bytes = Number(await client.memory('USAGE', 'bench:{cb:memory}:state'));
        return { pass: bytes <= 1024, detail: `MEMORY USAGE ${bytes} bytes (target <= 1024)` };
      },
    },
  ],
  teardown: async () => {
    await store?.close();
    await stopAll();
    server = undefined;
  },
});
