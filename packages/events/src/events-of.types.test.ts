import { CircuitBreaker, CircuitBreakerRegistry } from '@breakwater/core';
import { RedisStore, type StoreEvent } from '@breakwater/store-redis';
import { Redis } from 'ioredis';
import { describe, expectTypeOf, it } from 'vitest';
import { eventsOf } from './events-of.js';
import { ofType } from './operators.js';
import type { FleetEvent, FleetStateTransitionEvent } from './types.js';

type Emitted<O> = O extends import('rxjs').Observable<infer T> ? T : never;

describe('eventsOf types', () => {
  it('a RedisStore: fleet-wide transitions and the store events; ofType narrows to either', () => {
    // Types only: nothing connects (lazyConnect) and nothing is subscribed.
    const store = new RedisStore({ client: new Redis({ lazyConnect: true }) });
    const events = eventsOf(store);
    expectTypeOf(events.pipe(ofType('STATE_TRANSITION'))).toEqualTypeOf<
      import('rxjs').Observable<FleetStateTransitionEvent>
    >();
    expectTypeOf<Emitted<typeof events>>().toEqualTypeOf<FleetEvent<StoreEvent>>();
    void store.close();
  });

  it('a policy and a registry: their own events', () => {
    const breaker = CircuitBreaker.of('types');
    expectTypeOf(eventsOf(breaker).pipe(ofType('STATE_TRANSITION'))).toMatchTypeOf<
      import('rxjs').Observable<{ type: 'STATE_TRANSITION'; from: string; to: string }>
    >();
    const registry = CircuitBreakerRegistry.ofDefaults();
    expectTypeOf(eventsOf(registry).pipe(ofType('NOT_PERMITTED'))).toMatchTypeOf<
      import('rxjs').Observable<{ type: 'NOT_PERMITTED' }>
    >();
  });
});
