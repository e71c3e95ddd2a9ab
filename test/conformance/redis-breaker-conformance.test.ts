/**
 * The Lua breaker against the reference step(): same generated command sequences, same
 * decisions, states, metrics and transitions. The store runs with `clock: 'caller'` so that the
 * script honours the `now` the harness passes instead of Redis TIME, and with a lease longer than
 * any generated gap (lease expiry is Redis-only behaviour, tested on its own).
 */
import { RedisStore } from '@breakwater/store-redis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, startRedis, stopAll } from '../support/redis-harness.js';
import { describeBreakerConformance } from './breaker-harness.js';

let server: RedisServer;
let client: Redis;

beforeAll(async () => {
  server = await startRedis();
  client = server.client();
});
afterAll(stopAll);

describeBreakerConformance([
  {
    name: 'RedisStore (Lua)',
    create: () => {
      const store = new RedisStore({
        client,
        clock: 'caller',
        commandTimeout: 5_000,
        halfOpenLeaseMs: 315_360_000_000,
      });
      return { store, close: () => store.close() };
    },
  },
]);
