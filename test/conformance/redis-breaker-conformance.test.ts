/**
 * The Lua breaker against the reference step(): same generated command sequences, same
 * decisions, states, metrics and transitions. The store runs with `clock: 'caller'` so that the
 * script honours the `now` the harness passes instead of Redis TIME, and with a lease longer than
 * any generated gap (lease expiry is Redis-only behaviour, tested on its own).
 */
import { RedisStore } from '@breakwater/store-redis';
import { redisForFile } from '../support/redis-suite.js';
import { describeBreakerConformance } from './breaker-harness.js';

const redis = redisForFile();

describeBreakerConformance([
  {
    name: 'RedisStore (Lua)',
    create: () => {
      const store = new RedisStore({
        client: redis.client,
        clock: 'caller',
        commandTimeout: 5_000,
        halfOpenLeaseMs: 315_360_000_000,
      });
      return { store, close: () => store.close() };
    },
  },
]);
