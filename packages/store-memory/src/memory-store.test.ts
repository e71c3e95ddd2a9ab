import {
  Bulkhead,
  CircuitBreaker,
  type CircuitBreakerConfig,
  type CircuitBreakerEvent,
  ConfigError,
  ManualClock,
  RateLimiter,
} from '@breakwater/core';
import type { BreakerState } from '@breakwater/core/engine';
import { MemoryStore, type MemoryStoreSnapshot } from '@breakwater/store-memory';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const T0 = 1_700_000_000_000;
let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

const TRIP: CircuitBreakerConfig = {
  slidingWindowSize: 4,
  minimumNumberOfCalls: 4,
  waitDurationInOpenState: 5000,
  permittedNumberOfCallsInHalfOpenState: 2,
};

function on(store: MemoryStore, name: string, config: CircuitBreakerConfig = TRIP): CircuitBreaker {
  return CircuitBreaker.of(name, config, { store, clock });
}

async function fail(cb: CircuitBreaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) {
    await cb
      .execute(() => {
        throw new Error('down');
      })
      .catch((e: unknown) => {
        if (!(e instanceof Error) || e.message !== 'down') throw e;
      });
  }
}

async function succeed(cb: CircuitBreaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await cb.execute(() => 'ok');
}

function listen(cb: CircuitBreaker): CircuitBreakerEvent[] {
  const events: CircuitBreakerEvent[] = [];
  cb.onEvent((e) => events.push(e));
  return events;
}

const transitionsOf = (events: CircuitBreakerEvent[]) =>
  events.flatMap((e) => (e.type === 'STATE_TRANSITION' ? [`${e.from}->${e.to}`] : []));

const names = (store: MemoryStore) => Object.keys(store.snapshot(clock.now()).circuitBreakers).sort();

const roundTrip = (s: MemoryStoreSnapshot): MemoryStoreSnapshot => JSON.parse(JSON.stringify(s));

// ====================================================================== sharing

describe('two breakers with the same name on one MemoryStore', () => {
  it('share one state: one trips, the other sees OPEN and gets the transition event', async () => {
    const store = new MemoryStore();
    const a = on(store, 'svc');
    const b = on(store, 'svc');
    const bEvents = listen(b);
    await succeed(a, 2);
    await fail(b, 1);
    await fail(a, 1); // 2 of 4 failed, half of them through each breaker
    expect(await a.getState()).toBe('OPEN');
    expect(await b.getState()).toBe('OPEN');
    expect(transitionsOf(bEvents)).toEqual(['CLOSED->OPEN']);
    await expect(b.execute(() => 'x')).rejects.toMatchObject({
      name: 'CallNotPermittedError',
      state: 'OPEN',
    });
    expect(await a.getMetrics()).toMatchObject({ numberOfBufferedCalls: 4, numberOfNotPermittedCalls: 1 });
    expect(store.size).toBe(1);
  });

  it('share the half-open probes', async () => {
    const store = new MemoryStore();
    const a = on(store, 'svc');
    const b = on(store, 'svc');
    await a.transitionToOpenState();
    clock.advance(5000);
    expect(await a.tryAcquirePermission()).toBe(true);
    expect(await b.tryAcquirePermission()).toBe(true);
    expect(await a.tryAcquirePermission()).toBe(false);
    expect(await b.tryAcquirePermission()).toBe(false);
  });

  it('different names are independent', async () => {
    const store = new MemoryStore();
    const a = on(store, 'a');
    const b = on(store, 'b');
    await fail(a, 4);
    expect(await a.getState()).toBe('OPEN');
    expect(await b.getState()).toBe('CLOSED');
  });

  it('a breaker created after the other one tripped starts OPEN', async () => {
    const store = new MemoryStore();
    const a = on(store, 'svc');
    await fail(a, 4);
    const late = on(store, 'svc');
    expect(await late.getState()).toBe('OPEN');
    await expect(late.execute(() => 'x')).rejects.toMatchObject({ state: 'OPEN' });
  });

  it('same name with an incompatible window does not keep wiping the first breaker', async () => {
    const store = new MemoryStore();
    const a = on(store, 'svc', { slidingWindowSize: 4, minimumNumberOfCalls: 4 });
    let b: CircuitBreaker | undefined;
    try {
      b = on(store, 'svc', { slidingWindowSize: 8, minimumNumberOfCalls: 8 });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError); // refusing the newcomer is a fine answer too
    }
    for (let i = 0; i < 4; i++) {
      await fail(a);
      await b?.getState();
    }
    expect(await a.getState()).toBe('OPEN');
  });
});

// ====================================================================== idle expiry

describe('idle expiry', () => {
  it('sweep() drops breakers idle longer than idleTimeoutMs; they start afresh when used again', async () => {
    const store = new MemoryStore({ idleTimeoutMs: 1000 });
    const a = on(store, 'a');
    await fail(a);
    clock.advance(500);
    const b = on(store, 'b');
    clock.advance(500);
    expect(store.sweep(clock.now())).toBe(0); // a idle exactly 1000 ms: kept
    clock.advance(200);
    expect(store.sweep(clock.now())).toBe(1); // a idle 1200 ms: dropped; b idle 700 ms: kept
    expect(names(store)).toEqual(['b']);
    expect(await a.getMetrics()).toMatchObject({ numberOfBufferedCalls: 0 });
    expect(names(store)).toEqual(['a', 'b']);
    await b.getState();
    expect(store.size).toBe(2);
  });

  it('keeps breakers used within the timeout, however old they are', async () => {
    const store = new MemoryStore({ idleTimeoutMs: 1000 });
    const a = on(store, 'a');
    for (let i = 0; i < 20; i++) {
      clock.advance(900);
      await a.getState();
      store.sweep(clock.now());
    }
    expect(names(store)).toEqual(['a']);
  });

  it('sweeps by itself when new breakers are created', async () => {
    const store = new MemoryStore({ idleTimeoutMs: 1000 });
    on(store, 'a');
    clock.advance(5000);
    on(store, 'b');
    expect(names(store)).toEqual(['b']);
  });

  it('sweep() called by hand always sweeps, even right after an automatic sweep', async () => {
    const store = new MemoryStore({ idleTimeoutMs: 1000 });
    on(store, 'a');
    clock.advance(999);
    on(store, 'b'); // an automatic sweep at T0 + 999 (nothing idle yet)
    clock.advance(2);
    expect(store.sweep(clock.now())).toBe(1); // 'a' has been idle 1001 ms
    expect(names(store)).toEqual(['b']);
  });

  it('keeps pinned states (FORCED_OPEN, DISABLED, METRICS_ONLY) and OPEN breakers still waiting', async () => {
    const store = new MemoryStore({ idleTimeoutMs: 1000 });
    await on(store, 'forced').transitionToForcedOpenState();
    await on(store, 'disabled').transitionToDisabledState();
    await on(store, 'metrics').transitionToMetricsOnlyState();
    await fail(on(store, 'open'), 4); // OPEN until T0 + 5000
    on(store, 'closed');
    clock.advance(3000);
    expect(store.sweep(clock.now())).toBe(1);
    expect(names(store)).toEqual(['disabled', 'forced', 'metrics', 'open']);
    clock.set(T0 + 5000); // the open wait is over: nothing pins it any more
    expect(store.sweep(clock.now())).toBe(1);
    expect(names(store)).toEqual(['disabled', 'forced', 'metrics']);
    clock.advance(10 * 365 * 24 * 3600 * 1000);
    expect(store.sweep(clock.now())).toBe(0);
    expect(names(store)).toEqual(['disabled', 'forced', 'metrics']);
  });

  it('an expired OPEN breaker comes back CLOSED, and a pinned one keeps its state', async () => {
    const store = new MemoryStore({ idleTimeoutMs: 1000 });
    const open = on(store, 'open');
    const forced = on(store, 'forced');
    await fail(open, 4);
    await forced.transitionToForcedOpenState();
    clock.advance(10_000);
    store.sweep(clock.now());
    expect(await open.getState()).toBe('CLOSED');
    expect(await forced.getState()).toBe('FORCED_OPEN');
  });

  it('idleTimeoutMs 0 keeps everything', async () => {
    const store = new MemoryStore({ idleTimeoutMs: 0 });
    on(store, 'a');
    clock.advance(1e12);
    expect(store.sweep(clock.now())).toBe(0);
    on(store, 'b');
    expect(names(store)).toEqual(['a', 'b']);
  });
});

// ====================================================================== maxSize

describe('maxSize', () => {
  it('evicts the least recently used breaker', async () => {
    const store = new MemoryStore({ maxSize: 2 });
    const a = on(store, 'a');
    clock.advance(1);
    const b = on(store, 'b');
    await fail(b);
    clock.advance(1);
    await a.getState(); // a is now more recent than b
    clock.advance(1);
    on(store, 'c');
    expect(names(store)).toEqual(['a', 'c']);
    clock.advance(1);
    expect(await b.getMetrics()).toMatchObject({ numberOfBufferedCalls: 0 }); // afresh, evicting a
    expect(names(store)).toEqual(['b', 'c']);
    expect(store.size).toBe(2);
  });

  it('evicts pinned breakers last', async () => {
    const store = new MemoryStore({ maxSize: 2 });
    await on(store, 'forced').transitionToForcedOpenState();
    clock.advance(1);
    on(store, 'old');
    clock.advance(1);
    on(store, 'new');
    expect(names(store)).toEqual(['forced', 'new']);
  });

  it('an OPEN breaker is kept while it waits, then evicted as the least recently used it is', async () => {
    const store = new MemoryStore({ maxSize: 3 });
    await fail(on(store, 'open'), 4); // OPEN until T0 + 5000
    clock.advance(1);
    await on(store, 'a').getState();
    clock.advance(1);
    await on(store, 'b').getState();
    on(store, 'c');
    expect(names(store)).toEqual(['b', 'c', 'open']);
    clock.set(T0 + 6000);
    on(store, 'd');
    expect(names(store)).toEqual(['b', 'c', 'd']);
  });

  it('a rate limiter with permits in use goes last; a bulkhead with running calls is never evicted', async () => {
    const store = new MemoryStore({ maxSize: 3 });
    const limits = (rl: string) => Object.keys(store.snapshot(clock.now()).rateLimiters ?? {}).includes(rl);
    const rl = RateLimiter.of(
      'rl',
      { limitForPeriod: 1, limitRefreshPeriod: 1000, timeoutDuration: 0 },
      { store, clock },
    );
    clock.set(Math.ceil(T0 / 1000) * 1000); // the start of a period
    await rl.execute(() => 'ok'); // no permit left until the period ends
    const bh = Bulkhead.of('bh', { maxConcurrentCalls: 1 }, { store, clock });
    let finish = () => {};
    const running = bh.execute(() => new Promise<void>((resolve) => (finish = resolve)));
    clock.advance(1);
    await on(store, 'a').getState();
    clock.advance(1);
    on(store, 'b'); // evicts a: rl and bh cannot go without loss
    expect([names(store), limits('rl'), store.size]).toEqual([['b'], true, 3]);
    clock.advance(1000); // rl's permit is back: it is the least recently used that can go
    on(store, 'c');
    expect([names(store), limits('rl'), store.size]).toEqual([['b', 'c'], false, 3]);
    on(store, 'd'); // bh still runs a call: b goes
    expect([names(store), store.size]).toEqual([['c', 'd'], 3]);
    finish();
    await running;
    clock.advance(1);
    on(store, 'e'); // bh gave its slot back (a use), so c is the least recently used
    expect([names(store), store.size]).toEqual([['d', 'e'], 3]);
  });

  it('rejects bad options', () => {
    expect(() => new MemoryStore({ maxSize: 0 })).toThrow(ConfigError);
    expect(() => new MemoryStore({ idleTimeoutMs: -1 })).toThrow(ConfigError);
    expect(() => new MemoryStore({ maxSise: 3 } as never)).toThrow(ConfigError);
  });

  it('property: never more than maxSize entries; entries used within the idle timeout are kept unless evicted to make room', async () => {
    const NAMES = ['a', 'b', 'c', 'd', 'e'];
    const TTL = 10_000;
    type Op =
      | { kind: 'use'; name: string; how: 'success' | 'failure' | 'read' }
      | { kind: 'advance'; ms: number }
      | { kind: 'sweep' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('use' as const),
          name: fc.constantFrom(...NAMES),
          how: fc.constantFrom('success' as const, 'failure' as const, 'read' as const),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('advance' as const),
          ms: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 3 * TTL })),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
    );

    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(op, { maxLength: 60 }),
        async (maxSize, ops) => {
          const local = new ManualClock(T0);
          const store = new MemoryStore({ idleTimeoutMs: TTL, maxSize });
          const breakers = new Map<string, CircuitBreaker>();
          const lastUse = new Map<string, number>();
          const config: CircuitBreakerConfig = {
            slidingWindowSize: 3,
            minimumNumberOfCalls: 3,
            waitDurationInOpenState: 4_000,
          };
          for (const o of ops) {
            if (o.kind === 'advance') local.advance(o.ms);
            else if (o.kind === 'sweep') store.sweep(local.now());
            else {
              let cb = breakers.get(o.name);
              if (cb === undefined) {
                cb = CircuitBreaker.of(o.name, config, { store, clock: local });
                breakers.set(o.name, cb);
              }
              if (o.how === 'read') await cb.getState();
              else
                await cb
                  .execute(() => (o.how === 'success' ? 'ok' : Promise.reject(new Error('x'))))
                  .catch(() => {});
              lastUse.set(o.name, local.now());
            }
            const now = local.now();
            const states = store.snapshot(now).circuitBreakers;
            const present = new Set(Object.keys(states));
            expect(store.size).toBeLessThanOrEqual(maxSize);
            expect(present.size).toBe(store.size);
            for (const [name, used] of lastUse) {
              if (present.has(name) || now - used > TTL) continue;
              // Missing although fresh (it was dropped by this very operation, or it would have
              // been judged before): only allowed if it was evicted to make room for at least
              // maxSize breakers that rank after it: used no earlier, or OPEN still waiting
              // (evicted last, like operator-pinned states).
              const rankAfter = [...present].filter(
                (p) =>
                  (lastUse.get(p) ?? Number.NEGATIVE_INFINITY) >= used ||
                  (states[p].state === 'OPEN' && states[p].openUntil > now),
              );
              expect(
                rankAfter.length,
                `'${name}' dropped though used ${now - used} ms ago`,
              ).toBeGreaterThanOrEqual(maxSize);
              lastUse.delete(name); // judged once: its state starts afresh when used again
            }
            if (o.kind === 'use') expect(present.has(o.name)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ====================================================================== snapshot / restore

describe('snapshot() and restore()', () => {
  it('an OPEN breaker restored on a NEW store stays OPEN with the same openedAt and metrics', async () => {
    const before = new MemoryStore();
    const cb = on(before, 'svc');
    await succeed(cb, 2);
    clock.advance(250);
    await fail(cb, 2); // OPEN at T0 + 250, until T0 + 5250
    await expect(cb.execute(() => 'x')).rejects.toMatchObject({ state: 'OPEN' });
    const metrics = await cb.getMetrics();
    const text = JSON.stringify(before.snapshot(clock.now()));

    clock.advance(1000); // the process restarts a second later
    const after = new MemoryStore();
    const report = after.restore(JSON.parse(text));
    expect(report).toEqual({ restored: ['svc'], skipped: [] });
    const revived = on(after, 'svc');
    expect(await revived.getState()).toBe('OPEN');
    expect(await revived.getMetrics()).toEqual(metrics);
    const state = after.snapshot(clock.now()).circuitBreakers.svc;
    expect(state.since).toBe(T0 + 250);
    expect(state.openUntil).toBe(T0 + 5250);
    clock.set(T0 + 5249);
    await expect(revived.execute(() => 'x')).rejects.toMatchObject({ state: 'OPEN' });
    clock.set(T0 + 5250);
    await expect(revived.execute(() => 'ok')).resolves.toBe('ok');
    expect(await revived.getState()).toBe('HALF_OPEN');
  });

  it('a snapshot is plain JSON and a deep copy', async () => {
    const store = new MemoryStore();
    const cb = on(store, 'svc');
    await fail(cb);
    const snap = store.snapshot(clock.now());
    expect(snap).toMatchObject({ format: 'breakwater-memory-store', version: 1, takenAt: T0 });
    expect(roundTrip(snap)).toEqual(snap);
    await fail(cb);
    expect(snap.circuitBreakers.svc.window.failures).toBe(1);
  });

  it('restores every state of a round trip (HALF_OPEN, FORCED_OPEN, TIME_BASED windows)', async () => {
    const timeBased: CircuitBreakerConfig = {
      ...TRIP,
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 60,
    };
    const before = new MemoryStore();
    const half = on(before, 'half');
    await half.transitionToOpenState();
    await half.transitionToHalfOpenState();
    await half.tryAcquirePermission();
    await on(before, 'forced').transitionToForcedOpenState();
    const timed = on(before, 'timed', timeBased);
    await fail(timed, 3);
    clock.advance(2000);
    await succeed(timed);
    const after = new MemoryStore();
    expect(after.restore(roundTrip(before.snapshot(clock.now()))).skipped).toEqual([]);
    const half2 = on(after, 'half');
    expect(await half2.tryAcquirePermission()).toBe(true);
    expect(await half2.tryAcquirePermission()).toBe(false); // one of the two probes was out
    expect(await on(after, 'forced').getState()).toBe('FORCED_OPEN');
    const timed2 = on(after, 'timed', timeBased);
    expect(await timed2.getMetrics()).toMatchObject({ numberOfBufferedCalls: 4, numberOfFailedCalls: 3 });
    clock.advance(58_000); // the three failures (second 0) expire; the success (second 2) stays
    expect(await timed2.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfFailedCalls: 0 });
  });

  it('restore() onto a live breaker applies at once', async () => {
    const source = new MemoryStore();
    await on(source, 'svc').transitionToForcedOpenState();
    const store = new MemoryStore();
    const live = on(store, 'svc');
    expect(await live.getState()).toBe('CLOSED');
    expect(store.restore(roundTrip(source.snapshot(clock.now())))).toEqual({
      restored: ['svc'],
      skipped: [],
    });
    expect(await live.getState()).toBe('FORCED_OPEN');
  });

  it('after restore(), breakers sharing the name still hear each other', async () => {
    const store = new MemoryStore();
    const a = on(store, 'svc');
    const b = on(store, 'svc');
    const bEvents = listen(b);
    store.restore(roundTrip(store.snapshot(clock.now())));
    await fail(a, 4);
    expect(await a.getState()).toBe('OPEN');
    expect(transitionsOf(bEvents)).toEqual(['CLOSED->OPEN']);
  });

  it('a restored OPEN breaker with automatic transition half-opens on time without a call', async () => {
    vi.useFakeTimers({ now: T0 });
    const wallClock = { now: () => Date.now() };
    const config: CircuitBreakerConfig = { ...TRIP, automaticTransitionFromOpenToHalfOpenEnabled: true };
    const before = new MemoryStore();
    const old = CircuitBreaker.of('svc', config, { store: before, clock: wallClock });
    await fail(old, 4);
    const snap = roundTrip(before.snapshot(Date.now()));
    old.close();
    const after = new MemoryStore();
    after.restore(snap);
    const revived = CircuitBreaker.of('svc', config, { store: after, clock: wallClock });
    const events = listen(revived);
    expect(await revived.getState()).toBe('OPEN');
    await vi.advanceTimersByTimeAsync(5000);
    expect(transitionsOf(events)).toEqual(['OPEN->HALF_OPEN']);
    revived.close();
  });

  it('a state that does not fit a live breaker is skipped with a reason', async () => {
    const source = new MemoryStore();
    await fail(on(source, 'svc', { slidingWindowSize: 10 }), 2);
    const store = new MemoryStore();
    const live = on(store, 'svc', { slidingWindowSize: 4 });
    await fail(live);
    const report = store.restore(roundTrip(source.snapshot(clock.now())));
    expect(report.restored).toEqual([]);
    expect(report.skipped).toEqual([{ name: 'svc', reason: expect.stringMatching(/window/) }]);
    expect((await live.getMetrics()).numberOfFailedCalls).toBe(1);
  });

  it('a pending state that does not fit the breaker created later is not applied', async () => {
    const source = new MemoryStore();
    await fail(on(source, 'svc', { slidingWindowSize: 10 }), 2);
    const store = new MemoryStore();
    store.restore(roundTrip(source.snapshot(clock.now())));
    const cb = on(store, 'svc', { slidingWindowSize: 4 });
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    await fail(cb, 4);
    expect(await cb.getState()).toBe('OPEN');
  });

  const valid = async (): Promise<BreakerState> => {
    const s = new MemoryStore();
    await fail(on(s, 'x'), 1);
    return roundTrip(s.snapshot(clock.now())).circuitBreakers.x;
  };
  const garbage: [string, (s: BreakerState) => unknown][] = [
    ['not an object', () => 'garbage'],
    ['null', () => null],
    ['an unknown version', (s) => ({ ...s, v: 2 })],
    ['an unknown state', (s) => ({ ...s, state: 'AJAR' })],
    ['a missing number', (s) => ({ ...s, generation: undefined })],
    ['a string for a number', (s) => ({ ...s, openUntil: '5' })],
    ['no window', (s) => ({ ...s, window: undefined })],
    ['an unknown window type', (s) => ({ ...s, window: { ...s.window, type: 'SESSION' } })],
    ['a ring of the wrong length', (s) => ({ ...s, window: { ...s.window, ring: [0] } })],
    [
      'a window without its totals',
      (s) => ({ ...s, window: { type: 'COUNT', size: 4, ring: [0, 0, 0, 0], calls: 0 } }),
    ],
    ['a head outside the ring', (s) => ({ ...s, window: { ...s.window, head: 99 } })],
    ['negative totals', (s) => ({ ...s, window: { ...s.window, failures: -3 } })],
  ];

  it.each(garbage)('an entry with %s is skipped with a reason (new store)', async (_label, corrupt) => {
    const good = await valid();
    const store = new MemoryStore();
    const report = store.restore({
      format: 'breakwater-memory-store',
      version: 1,
      takenAt: T0,
      circuitBreakers: { bad: corrupt(good) as BreakerState, good },
    });
    expect(report.restored).toEqual(['good']);
    expect(report.skipped).toEqual([{ name: 'bad', reason: expect.any(String) }]);
    expect(report.skipped[0].reason.length).toBeGreaterThan(0);
    // a breaker of that name simply starts afresh
    const cb = on(store, 'bad');
    expect(await cb.getState()).toBe('CLOSED');
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 0 });
  });

  it('a HALF_OPEN state with more free probes than permitted is skipped', async () => {
    const source = new MemoryStore();
    const half = on(source, 'svc');
    await half.transitionToOpenState();
    await half.transitionToHalfOpenState();
    const snap = roundTrip(source.snapshot(clock.now()));
    snap.circuitBreakers.svc.halfOpenAvailable = 1000;
    const store = new MemoryStore();
    const live = on(store, 'svc');
    const report = store.restore(snap);
    expect(report.skipped).toEqual([{ name: 'svc', reason: expect.any(String) }]);
    expect(await live.getState()).toBe('CLOSED');
  });

  it('a restored window follows the current minimumNumberOfCalls', async () => {
    const source = new MemoryStore();
    await fail(on(source, 'svc', { slidingWindowSize: 10, minimumNumberOfCalls: 10 }), 1);
    const store = new MemoryStore();
    expect(store.restore(roundTrip(source.snapshot(clock.now()))).restored).toEqual(['svc']);
    // after the restart the operator lowered the minimum to 2
    const cb = on(store, 'svc', { slidingWindowSize: 10, minimumNumberOfCalls: 2 });
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1 });
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
  });

  it.each([
    ['null', null],
    ['a string', 'snapshot'],
    ['an empty object', {}],
    ['another format', { format: 'other', version: 1, takenAt: 0, circuitBreakers: {} }],
    ['a future version', { format: 'breakwater-memory-store', version: 2, takenAt: 0, circuitBreakers: {} }],
    ['no breakers', { format: 'breakwater-memory-store', version: 1, takenAt: 0 }],
  ])('restore() of %s throws ConfigError', (_label, value) => {
    const store = new MemoryStore();
    let error: unknown;
    try {
      store.restore(value as unknown as MemoryStoreSnapshot);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ field: 'snapshot' });
  });

  it('clear() forgets everything, including pending restored states', async () => {
    const source = new MemoryStore();
    await on(source, 'p').transitionToForcedOpenState();
    const store = new MemoryStore();
    store.restore(roundTrip(source.snapshot(clock.now())));
    const live = on(store, 'live');
    await fail(live);
    store.clear();
    expect(store.size).toBe(0);
    expect(names(store)).toEqual([]);
    expect(await on(store, 'p').getState()).toBe('CLOSED');
    expect((await live.getMetrics()).numberOfBufferedCalls).toBe(0);
  });
});
