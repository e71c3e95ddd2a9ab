/**
 * Circuit-breaker conformance: every store's engine must behave exactly like the reference
 * `step()` from @breakwater/core (decisions, states, metrics, transitions). Add a store by adding
 * a factory to the list; a RedisStore factory must make its scripts honour the `now` the harness
 * passes instead of Redis TIME (see breaker-harness.ts).
 */
import { MemoryStore } from '@breakwater/store-memory';
import { describeBreakerConformance } from './breaker-harness.js';

describeBreakerConformance([
  { name: 'MemoryStore', create: () => ({ store: new MemoryStore() }), broadcastsEffects: true },
]);
