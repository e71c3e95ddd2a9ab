import {
  Bulkhead,
  CircuitBreaker,
  type CircuitBreakerEvent,
  CircuitBreakerRegistry,
  ManualClock,
  Retry,
  RetryRegistry,
  type Unsubscribe,
} from '@breakwater/core';
import type { EventPublisher } from '@breakwater/core/engine';
import { firstValueFrom, map, merge, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { eventsOf } from './events-of.js';
import { ofKind, ofType, transitions } from './operators.js';
import type { EventShape, FleetEvent, FleetSource, FleetTransitionMessageLike } from './types.js';

const T0 = 1_700_000_000_000;
const SMALL = {
  slidingWindowSize: 2,
  minimumNumberOfCalls: 2,
  failureRateThreshold: 50,
  waitDurationInOpenState: 1_000,
  permittedNumberOfCallsInHalfOpenState: 1,
};

const fail = (cb: CircuitBreaker) =>
  cb
    .execute(() => {
      throw new Error('boom');
    })
    .catch(() => {});
const succeed = (cb: CircuitBreaker) => cb.execute(() => 'ok');

/**
 * Test-only peek at a policy's listener count: policies keep their EventPublisher private
 * (`publisher`), and it counts every listener added and not yet removed.
 */
function listenerCount(policy: CircuitBreaker | Retry | Bulkhead): number {
  return (policy as unknown as { publisher: EventPublisher<{ type: string }> }).publisher.listenerCount;
}

/** The registry's own listeners (onAdded/onRemoved), in the private `changes` of its PolicyRegistry base. */
function registryListenerCount(registry: CircuitBreakerRegistry | RetryRegistry): number {
  return (registry as unknown as { changes: EventPublisher<{ type: string }> }).changes.listenerCount;
}

describe('eventsOf(policy)', () => {
  it('a breaker driven CLOSED -> OPEN -> HALF_OPEN -> CLOSED yields exactly those transitions, in order', async () => {
    const clock = new ManualClock(T0);
    const cb = CircuitBreaker.of('upbit/kr/ticker', SMALL, { clock });
    const seen: string[] = [];
    const all: CircuitBreakerEvent[] = [];
    const sub = eventsOf(cb)
      .pipe(transitions())
      .subscribe((e) => seen.push(`${e.from}->${e.to}`));
    const subAll = eventsOf(cb).subscribe((e) => all.push(e));

    await fail(cb);
    await fail(cb); // 2 of 2 failed: OPEN
    expect(await cb.getState()).toBe('OPEN');
    await expect(succeed(cb)).rejects.toThrow(/does not permit/);
    clock.advance(1_000); // the open wait is over: the next call is a probe
    await succeed(cb); // HALF_OPEN, and the probe passes: CLOSED
    expect(await cb.getState()).toBe('CLOSED');
    await succeed(cb);

    expect(seen).toEqual(['CLOSED->OPEN', 'OPEN->HALF_OPEN', 'HALF_OPEN->CLOSED']);
    const types = all.map((e) => e.type);
    expect(types.filter((t) => t === 'STATE_TRANSITION')).toHaveLength(3);
    expect(types).toContain('NOT_PERMITTED');
    expect(types).toContain('FAILURE_RATE_EXCEEDED');
    const open = all.find((e) => e.type === 'STATE_TRANSITION');
    expect(open).toMatchObject({
      kind: 'circuitbreaker',
      name: 'upbit/kr/ticker',
      at: T0,
      from: 'CLOSED',
      to: 'OPEN',
      reason: 'FAILURE_RATE',
      failureRate: 100,
    });
    sub.unsubscribe();
    subAll.unsubscribe();
    expect(listenerCount(cb)).toBe(0);
  });

  it('adds a listener only while subscribed, one per subscription', () => {
    const cb = CircuitBreaker.ofDefaults('lazy');
    const events = eventsOf(cb);
    expect(listenerCount(cb)).toBe(0);
    const a = events.subscribe();
    const b = events.subscribe();
    expect(listenerCount(cb)).toBe(2);
    a.unsubscribe();
    expect(listenerCount(cb)).toBe(1);
    b.unsubscribe();
    expect(listenerCount(cb)).toBe(0);
  });

  it('operators that complete (take) remove the listener', async () => {
    const cb = CircuitBreaker.ofDefaults('take');
    const firstTwo = firstValueFrom(eventsOf(cb).pipe(take(2), toArray()));
    await succeed(cb);
    await succeed(cb);
    await succeed(cb);
    expect((await firstTwo).map((e) => e.type)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(listenerCount(cb)).toBe(0);
  });

  it('works for every policy: retry, bulkhead', async () => {
    const retry = Retry.of('r', { maxAttempts: 2, waitDuration: 0 });
    const bulkhead = Bulkhead.of('b', { maxConcurrentCalls: 1 });
    const seen: string[] = [];
    const sub = merge(eventsOf(retry), eventsOf(bulkhead))
      .pipe(map((e) => `${e.kind}:${e.type}:${e.name}`))
      .subscribe((s) => seen.push(s));
    let n = 0;
    await retry.execute(() => {
      if (n++ === 0) throw new Error('once');
      return 'ok';
    });
    await bulkhead.execute(() => 'ok');
    sub.unsubscribe();
    expect(seen).toEqual([
      'retry:RETRY:r',
      'retry:SUCCESS:r',
      'bulkhead:CALL_PERMITTED:b',
      'bulkhead:CALL_FINISHED:b',
    ]);
    expect(listenerCount(retry)).toBe(0);
    expect(listenerCount(bulkhead)).toBe(0);
  });

  it('rejects what is not a source', () => {
    expect(() => eventsOf({} as never)).toThrow(TypeError);
    expect(() => eventsOf(null as never)).toThrow(/policy, a registry or a RedisStore/);
  });
});

describe('eventsOf(registry)', () => {
  it('includes breakers created before and after subscribing, and stops following removed ones', async () => {
    const clock = new ManualClock(T0);
    const registry = CircuitBreakerRegistry.of({ clock, configs: { default: SMALL } });
    const early = registry.circuitBreaker('early');
    const seen: string[] = [];
    const sub = eventsOf(registry)
      .pipe(ofType('STATE_TRANSITION'))
      .subscribe((e) => seen.push(`${e.name}:${e.from}->${e.to}`));

    const late = registry.circuitBreaker('late'); // created after subscribing
    await fail(late);
    await fail(late);
    await early.transitionToForcedOpenState();
    const gone = registry.remove('late');
    await gone?.transitionToClosedState().catch(() => {});
    const later = registry.circuitBreaker('later');
    await later.transitionToOpenState();

    expect(seen).toEqual(['late:CLOSED->OPEN', 'early:CLOSED->FORCED_OPEN', 'later:CLOSED->OPEN']);
    sub.unsubscribe();
    expect(listenerCount(early)).toBe(0);
    expect(listenerCount(later)).toBe(0);
    expect(registryListenerCount(registry)).toBe(0);
  });

  it('a retry registry too', async () => {
    const registry = RetryRegistry.of({ configs: { default: { maxAttempts: 2, waitDuration: 0 } } });
    const seen: string[] = [];
    const sub = eventsOf(registry)
      .pipe(ofKind('retry'), ofType('ERROR'))
      .subscribe((e) => seen.push(`${e.name}:${e.attempts}`));
    await registry
      .retry('created-later')
      .execute(() => {
        throw new Error('always');
      })
      .catch(() => {});
    sub.unsubscribe();
    expect(seen).toEqual(['created-later:2']);
  });
});

describe('subscribe/unsubscribe 10,000 times', () => {
  it('leaves no listener behind on a policy or a registry', async () => {
    const cb = CircuitBreaker.ofDefaults('churn');
    const registry = CircuitBreakerRegistry.ofDefaults();
    const inRegistry = registry.circuitBreaker('member');
    const fromPolicy = eventsOf(cb);
    const fromRegistry = eventsOf(registry);
    let received = 0;
    for (let i = 0; i < 10_000; i++) {
      const a = fromPolicy.subscribe(() => received++);
      const b = fromRegistry.pipe(ofType('SUCCESS')).subscribe(() => received++);
      if (i % 1_000 === 0) {
        expect(listenerCount(cb)).toBe(1);
        expect(listenerCount(inRegistry)).toBe(1);
        expect(registryListenerCount(registry)).toBe(2); // onAdded + onRemoved
        await succeed(cb);
        await succeed(inRegistry);
      }
      a.unsubscribe();
      b.unsubscribe();
    }
    expect(received).toBe(20);
    expect(listenerCount(cb)).toBe(0);
    expect(listenerCount(inRegistry)).toBe(0);
    expect(registryListenerCount(registry)).toBe(0);
    // and 10,000 concurrent subscriptions, unsubscribed in reverse
    const subs = Array.from({ length: 10_000 }, () => fromPolicy.subscribe());
    expect(listenerCount(cb)).toBe(10_000);
    for (const s of subs.reverse()) s.unsubscribe();
    expect(listenerCount(cb)).toBe(0);
  });
});

/** A RedisStore stand-in: counts listeners, delivers messages by hand. */
class FakeFleetStore implements FleetSource<StoreEventLike> {
  readonly options = { processId: 'me:1' };
  readonly fleetListeners = new Set<(m: FleetTransitionMessageLike) => void>();
  readonly storeListeners = new Set<(e: StoreEventLike) => void>();
  onFleetTransition(listener: (m: FleetTransitionMessageLike) => void): Unsubscribe {
    const entry = (m: FleetTransitionMessageLike) => listener(m);
    this.fleetListeners.add(entry);
    return () => this.fleetListeners.delete(entry);
  }
  onEvent(listener: (e: StoreEventLike) => void): Unsubscribe {
    const entry = (e: StoreEventLike) => listener(e);
    this.storeListeners.add(entry);
    return () => this.storeListeners.delete(entry);
  }
  publish(message: unknown): void {
    for (const l of this.fleetListeners) l(message as FleetTransitionMessageLike);
  }
  emit(event: StoreEventLike): void {
    for (const l of this.storeListeners) l(event);
  }
}
interface StoreEventLike extends EventShape {
  readonly kind: 'store';
  readonly type: 'STORE_FAILURE' | 'STORE_RECOVERED';
}

describe('eventsOf(store-like source)', () => {
  it('turns fleet messages into STATE_TRANSITION events with their origin, and stamps store events', () => {
    const store = new FakeFleetStore();
    const seen: FleetEvent<StoreEventLike>[] = [];
    const sub = eventsOf(store).subscribe((e) => seen.push(e));
    store.publish({
      kind: 'circuitbreaker',
      name: 'upbit/kr/ticker',
      origin: 'api-2:77',
      transitions: [
        {
          from: 'CLOSED',
          to: 'OPEN',
          at: T0,
          reason: 'FAILURE_RATE',
          failureRate: 60,
          slowCallRate: 0,
          until: T0 + 60_000,
        },
        {
          from: 'OPEN',
          to: 'HALF_OPEN',
          at: T0 + 60_000,
          reason: 'WAIT_ELAPSED',
          failureRate: -1,
          slowCallRate: -1,
          until: 0,
        },
      ],
    });
    store.emit({ kind: 'store', type: 'STORE_FAILURE', name: 'breakwater', at: T0 });
    expect(seen).toEqual([
      {
        kind: 'circuitbreaker',
        type: 'STATE_TRANSITION',
        name: 'upbit/kr/ticker',
        at: T0,
        from: 'CLOSED',
        to: 'OPEN',
        reason: 'FAILURE_RATE',
        failureRate: 60,
        slowCallRate: 0,
        origin: 'api-2:77',
        until: T0 + 60_000,
      },
      expect.objectContaining({ from: 'OPEN', to: 'HALF_OPEN', origin: 'api-2:77', until: 0 }),
      { kind: 'store', type: 'STORE_FAILURE', name: 'breakwater', at: T0, origin: 'me:1' },
    ]);
    sub.unsubscribe();
    expect(store.fleetListeners.size).toBe(0);
    expect(store.storeListeners.size).toBe(0);
  });

  it('computes the rates from the window counts the Lua script publishes', () => {
    const store = new FakeFleetStore();
    const seen: unknown[] = [];
    const sub = eventsOf(store).subscribe((e) => seen.push(e));
    const base = { from: 'CLOSED', to: 'OPEN', at: T0, reason: 'FAILURE_RATE', until: T0 + 1 };
    store.publish({
      kind: 'circuitbreaker',
      name: 'lua',
      origin: 'w',
      transitions: [
        // [calls, failures, slow, slowFailures, minimumCalls]
        { ...base, counts: [5, 3, 1, 0, 5] },
        { ...base, counts: [4, 4, 0, 0, 5] }, // below the minimum
        { ...base, counts: [4, 4] }, // not counts
      ],
    });
    sub.unsubscribe();
    expect(seen).toEqual([
      expect.objectContaining({ failureRate: 60, slowCallRate: 20 }),
      expect.objectContaining({ failureRate: -1, slowCallRate: -1 }),
      expect.objectContaining({ failureRate: -1, slowCallRate: -1 }),
    ]);
  });

  it('skips messages that are not transitions (anyone can publish on the channel)', () => {
    const store = new FakeFleetStore();
    const seen: unknown[] = [];
    const sub = eventsOf(store).subscribe((e) => seen.push(e));
    store.publish(null);
    store.publish('hello');
    store.publish({ kind: 'circuitbreaker', name: 'x', origin: 'o' });
    store.publish({
      kind: 'circuitbreaker',
      name: 'x',
      origin: 'o',
      transitions: [null, { from: 'NOPE', to: 'OPEN' }],
    });
    store.publish({ kind: 'circuitbreaker', name: 'x', transitions: [{ from: 'CLOSED', to: 'OPEN' }] });
    sub.unsubscribe();
    expect(seen).toEqual([
      expect.objectContaining({ name: 'x', from: 'CLOSED', to: 'OPEN', origin: 'unknown', failureRate: -1 }),
    ]);
  });

  it('take(1) on a fleet stream removes both listeners at once', () => {
    const store = new FakeFleetStore();
    const seen: unknown[] = [];
    eventsOf(store)
      .pipe(take(1))
      .subscribe((e) => seen.push(e));
    store.publish({
      kind: 'circuitbreaker',
      name: 'x',
      origin: 'o',
      transitions: [
        { from: 'CLOSED', to: 'OPEN', at: 1, reason: 'MANUAL', failureRate: -1, slowCallRate: -1 },
        { from: 'OPEN', to: 'CLOSED', at: 2, reason: 'MANUAL', failureRate: -1, slowCallRate: -1 },
      ],
    });
    expect(seen).toHaveLength(1);
    expect(store.fleetListeners.size).toBe(0);
    expect(store.storeListeners.size).toBe(0);
  });
});
