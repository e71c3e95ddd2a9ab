/**
 * A half-open permit is always returned or consumed: a call that throws anything, hangs past
 * maxWaitDurationInHalfOpenState, or is aborted never leaves the breaker stuck.
 */
import {
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  ManualClock,
  type Store,
} from '@breakwater/core';
import type { BreakerEngine } from '@breakwater/core/engine';
import { MemoryStore } from '@breakwater/store-memory';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { deferred } from '../../../../test/support/promises.js';

const T0 = 1_700_000_000_000;
let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock(T0);
});

const WAIT = 1000;

/** A breaker already HALF_OPEN with `permitted` probes. */
async function halfOpen(config: CircuitBreakerConfig = {}, permitted = 1, store?: Store) {
  const cb = CircuitBreaker.of(
    'probe',
    {
      slidingWindowSize: 4,
      minimumNumberOfCalls: 4,
      permittedNumberOfCallsInHalfOpenState: permitted,
      waitDurationInOpenState: WAIT,
      ...config,
    },
    { clock, store },
  );
  await cb.transitionToOpenState();
  await cb.transitionToHalfOpenState();
  expect(await cb.getState()).toBe('HALF_OPEN');
  return cb;
}

/** How many probes the breaker would admit now (each is handed back at once). */
async function freeProbes(cb: CircuitBreaker): Promise<number> {
  let n = 0;
  while (await cb.tryAcquirePermission()) n++;
  for (let i = 0; i < n; i++) await cb.releasePermission();
  return n;
}

async function settle<T>(p: Promise<T>): Promise<{ ok: boolean; value: unknown }> {
  return p.then(
    (value) => ({ ok: true, value }),
    (value: unknown) => ({ ok: false, value }),
  );
}

const NON_ERRORS: [string, unknown][] = [
  ['a string', 'boom'],
  ['undefined', undefined],
  ['null', null],
  ['a plain object', { code: 'ECONNRESET' }],
  ['a number', 42],
  [
    'an object with a throwing getter',
    Object.defineProperty({}, 'message', {
      get: () => {
        throw new Error('getter');
      },
    }),
  ],
];

describe('a thrown non-Error value', () => {
  it.each(NON_ERRORS)(
    '%s is a recorded failure: the probe is consumed and the breaker moves on',
    async (_l, thrown) => {
      const cb = await halfOpen({ minimumNumberOfCalls: 1 });
      const result = await settle(
        cb.execute(() => {
          throw thrown;
        }),
      );
      expect(result).toEqual({ ok: false, value: thrown });
      expect(await cb.getState()).toBe('OPEN');
      clock.advance(WAIT);
      expect(await freeProbes(cb)).toBe(1);
    },
  );

  it.each(NON_ERRORS)('%s rejected asynchronously is a recorded failure too', async (_l, thrown) => {
    const cb = await halfOpen({ minimumNumberOfCalls: 2 }, 2);
    const result = await settle(cb.execute(() => Promise.reject(thrown)));
    expect(result).toEqual({ ok: false, value: thrown });
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfFailedCalls: 1 });
    expect(await freeProbes(cb)).toBe(1);
  });

  it.each(NON_ERRORS)('%s with a predicate that chokes on it still settles the probe', async (_l, thrown) => {
    const cb = await halfOpen({
      minimumNumberOfCalls: 1,
      ignoreExceptions: (e) => (e as Error).message.startsWith('ignore'),
    });
    await settle(cb.execute(() => Promise.reject(thrown)));
    expect(await cb.getState()).not.toBe('HALF_OPEN');
    clock.advance(WAIT);
    expect(await cb.getState()).toMatch(/OPEN|CLOSED/);
    expect(await cb.tryAcquirePermission()).toBe(true);
  });

  it.each(NON_ERRORS)('%s matched by ignoreExceptions gives the probe back', async (_l, thrown) => {
    const cb = await halfOpen({ ignoreExceptions: (e) => !(e instanceof Error) });
    await settle(cb.execute(() => Promise.reject(thrown)));
    expect(await cb.getState()).toBe('HALF_OPEN');
    expect(await freeProbes(cb)).toBe(1);
  });

  it.each(NON_ERRORS)('%s not matched by recordExceptions classes is a success', async (_l, thrown) => {
    const cb = await halfOpen({ minimumNumberOfCalls: 1, recordExceptions: [TypeError] });
    await settle(cb.execute(() => Promise.reject(thrown)));
    expect(await cb.getState()).toBe('CLOSED');
  });
});

describe('an abort', () => {
  it('rejects at once with the reason and returns the permit', async () => {
    const cb = await halfOpen();
    const controller = new AbortController();
    const never = new Promise<never>(() => {});
    const running = settle(cb.execute(() => never, controller.signal));
    expect(await freeProbes(cb)).toBe(0);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await running).toEqual({ ok: false, value: reason });
    expect(await cb.getState()).toBe('HALF_OPEN');
    expect(await freeProbes(cb)).toBe(1);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('without a reason rejects with the AbortError the signal carries', async () => {
    const cb = await halfOpen();
    const controller = new AbortController();
    const running = settle(cb.execute(() => new Promise<never>(() => {}), controller.signal));
    controller.abort();
    const { ok, value } = await running;
    expect(ok).toBe(false);
    expect(value).toBe(controller.signal.reason);
    expect((value as DOMException).name).toBe('AbortError');
    expect(await freeProbes(cb)).toBe(1);
  });

  it('the supplier sees the abort through its signal', async () => {
    const cb = await halfOpen();
    const controller = new AbortController();
    let seen: unknown;
    const running = settle(
      cb.execute(
        (signal) =>
          new Promise<never>((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              seen = signal.reason;
              reject(new Error('aborted inside'));
            });
          }),
        controller.signal,
      ),
    );
    controller.abort('stop');
    expect(await running).toEqual({ ok: false, value: 'stop' });
    expect(seen).toBe('stop');
    expect(await freeProbes(cb)).toBe(1);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it("an aborted call's eventual result is not recorded", async () => {
    const cb = await halfOpen({ minimumNumberOfCalls: 1 });
    const controller = new AbortController();
    const inner = deferred();
    const running = settle(cb.execute(() => inner.promise, controller.signal));
    controller.abort('stop');
    await running;
    inner.reject(new Error('failed after the abort'));
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(await cb.getState()).toBe('HALF_OPEN');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('an already aborted signal rejects without taking a permit or calling the supplier', async () => {
    const cb = await halfOpen();
    const controller = new AbortController();
    controller.abort('early');
    let called = false;
    expect(
      await settle(
        cb.execute(() => {
          called = true;
          return 1;
        }, controller.signal),
      ),
    ).toEqual({ ok: false, value: 'early' });
    expect(called).toBe(false);
    expect(await freeProbes(cb)).toBe(1);
  });

  it('an abort after the call settled gives nothing back twice', async () => {
    const cb = await halfOpen({ minimumNumberOfCalls: 3 }, 3);
    const controller = new AbortController();
    await cb.execute(() => 'done', controller.signal);
    controller.abort('too late');
    expect(await freeProbes(cb)).toBe(2);
  });

  it('an abort while the permit is still being acquired (an asynchronous store) returns it', async () => {
    // A remote store answers acquire() with a promise; the caller may abort before it arrives.
    const memory = new MemoryStore();
    const asyncStore: Store = {
      kind: 'async',
      circuitBreaker(name, settings, listener) {
        const inner = memory.circuitBreaker(name, settings, listener);
        const tick = () => new Promise<void>((r) => setImmediate(r));
        // Each operation takes effect at once; its answer arrives a turn later, as over a network.
        const engine: BreakerEngine = {
          acquire: (now) => {
            const permit = inner.acquire(now);
            return tick().then(() => permit);
          },
          record: (p, o, now) => {
            inner.record(p, o, now);
            return tick();
          },
          release: (p, now) => {
            inner.release(p, now);
            return tick();
          },
          transition: (t, now) => {
            const legal = inner.transition(t, now);
            return tick().then(() => legal);
          },
          read: (now) => inner.read(now),
          close: () => inner.close(),
        };
        return engine;
      },
    };
    const cb = await halfOpen({}, 1, asyncStore);
    const controller = new AbortController();
    let called = false;
    const running = settle(
      cb.execute(() => {
        called = true;
        return new Promise<never>(() => {}); // ignores its signal
      }, controller.signal),
    );
    controller.abort('gave up while acquiring');
    // Counted in event-loop turns, not milliseconds: the store answers after one turn.
    let outcome: unknown = 'still running';
    running.then((r) => {
      outcome = r;
    });
    for (let turn = 0; turn < 10; turn++) await new Promise((r) => setImmediate(r));
    expect(outcome).toEqual({ ok: false, value: 'gave up while acquiring' });
    expect(called).toBe(false);
    expect(await freeProbes(cb)).toBe(1);
  });
});

describe('a hung call', () => {
  it('maxWaitDurationInHalfOpenState moves on to OPEN, then probes are admitted again', async () => {
    const cb = await halfOpen({ maxWaitDurationInHalfOpenState: 5000 }, 2);
    const hung = [deferred<string>(), deferred<string>()];
    const running = hung.map((d) => settle(cb.execute(() => d.promise)));
    await expect(cb.execute(() => 'x')).rejects.toBeInstanceOf(CallNotPermittedError);
    clock.advance(4999);
    expect(await cb.getState()).toBe('HALF_OPEN');
    clock.advance(1);
    expect(await cb.getState()).toBe('OPEN');
    clock.advance(WAIT);
    expect(await freeProbes(cb)).toBe(2);
    // The hung calls settling now change nothing.
    hung[0].reject(new Error('late'));
    hung[1].resolve('late');
    await Promise.all(running);
    expect(await cb.getState()).toBe('HALF_OPEN');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    expect(await freeProbes(cb)).toBe(2);
  });

  it("maxWaitDurationInHalfOpenState with transitionToStateAfterWaitDuration 'CLOSED' closes", async () => {
    const cb = await halfOpen({
      maxWaitDurationInHalfOpenState: 5000,
      transitionToStateAfterWaitDuration: 'CLOSED',
    });
    const hung = deferred();
    const running = settle(cb.execute(() => hung.promise));
    expect(await freeProbes(cb)).toBe(0);
    clock.advance(5000);
    expect(await cb.getState()).toBe('CLOSED');
    await expect(cb.execute(() => 'ok')).resolves.toBe('ok');
    hung.reject(new Error('late'));
    await running;
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfFailedCalls: 0 });
  });

  it('an ignored error, a recorded failure and a hang together never leak a probe', async () => {
    const cb = await halfOpen(
      {
        minimumNumberOfCalls: 3,
        ignoreExceptions: (e) => e === 'ignored',
        maxWaitDurationInHalfOpenState: 2000,
      },
      3,
    );
    const hung = deferred<string>();
    const hanging = settle(cb.execute(() => hung.promise));
    await settle(cb.execute(() => Promise.reject('ignored')));
    await settle(cb.execute(() => Promise.reject('failure')));
    // one hangs, one recorded: one probe left
    expect(await freeProbes(cb)).toBe(1);
    clock.advance(2000);
    expect(await cb.getState()).toBe('OPEN');
    clock.advance(WAIT);
    expect(await freeProbes(cb)).toBe(3);
    hung.resolve('late');
    await hanging;
    expect(await freeProbes(cb)).toBe(3);
  });
});

describe('property', () => {
  type How = 'success' | 'failure' | 'ignored' | 'string' | 'undefined' | 'hang' | 'abortable';
  type Op =
    | { kind: 'start'; how: How }
    | { kind: 'settle'; index: number; ok: boolean }
    | { kind: 'abort'; index: number }
    | { kind: 'advance'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('start' as const),
        how: fc.constantFrom<How>(
          'success',
          'failure',
          'ignored',
          'string',
          'undefined',
          'hang',
          'abortable',
        ),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('settle' as const), index: fc.nat(), ok: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 6000 }) }),
    },
  );

  it('in HALF_OPEN, free probes = permitted - recorded - still running, whatever the probes do', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom('rate' as const, 'successes' as const),
        fc.array(op, { maxLength: 40 }),
        async (permitted, halfOpenPolicy, ops) => {
          const local = new ManualClock(T0);
          const cb = CircuitBreaker.of(
            'prop',
            {
              slidingWindowSize: 4,
              minimumNumberOfCalls: 100,
              permittedNumberOfCallsInHalfOpenState: permitted,
              waitDurationInOpenState: 1000,
              maxWaitDurationInHalfOpenState: 5000,
              halfOpenPolicy,
              ignoreExceptions: (e) => e === 'ignored',
            },
            { clock: local },
          );
          let epoch = 0;
          cb.on('STATE_TRANSITION', () => {
            epoch++;
          });
          await cb.transitionToOpenState();
          await cb.transitionToHalfOpenState();
          interface Running {
            epoch: number;
            done: boolean;
            settle: (ok: boolean) => void;
            abort?: () => void;
            promise: Promise<unknown>;
          }
          const running: Running[] = [];
          const pendingOnes = () => running.filter((r) => !r.done);
          for (const o of ops) {
            if (o.kind === 'advance') local.advance(o.ms);
            else if (o.kind === 'start') {
              const d = deferred<string>();
              const controller = new AbortController();
              let called = false;
              const supplier = () => {
                called = true;
                switch (o.how) {
                  case 'success':
                    return Promise.resolve('ok');
                  case 'failure':
                    return Promise.reject(new Error('failure'));
                  case 'ignored':
                    return Promise.reject('ignored');
                  case 'string':
                    return Promise.reject('a string');
                  case 'undefined':
                    return Promise.reject(undefined);
                  default:
                    return d.promise;
                }
              };
              const promise = cb
                .execute(supplier, o.how === 'abortable' ? controller.signal : undefined)
                .then(
                  () => undefined,
                  () => undefined,
                );
              if (!called) {
                await promise; // refused
              } else if (o.how === 'hang' || o.how === 'abortable') {
                const r: Running = {
                  epoch,
                  done: false,
                  settle: (ok) => (ok ? d.resolve('late') : d.reject(new Error('late'))),
                  abort: o.how === 'abortable' ? () => controller.abort('stop') : undefined,
                  promise,
                };
                promise.then(() => {
                  r.done = true;
                });
                running.push(r);
              } else {
                await promise;
              }
            } else {
              const candidates = pendingOnes().filter((r) => o.kind === 'settle' || r.abort !== undefined);
              if (candidates.length === 0) continue;
              const r = candidates[o.index % candidates.length];
              if (o.kind === 'settle') r.settle(o.ok);
              else r.abort?.();
              await r.promise;
              await Promise.resolve();
            }
            const state = await cb.getState();
            if (state === 'HALF_OPEN') {
              const buffered = (await cb.getMetrics()).numberOfBufferedCalls;
              const inFlight = pendingOnes().filter((r) => r.epoch === epoch).length;
              expect(await freeProbes(cb)).toBe(permitted - buffered - inFlight);
            }
          }
          // And never stuck: past the max wait and the open wait, probes are admitted again.
          local.advance(5000);
          await cb.getState();
          local.advance(1000);
          const state = await cb.getState();
          if (state !== 'CLOSED') expect(await freeProbes(cb)).toBe(permitted);
        },
      ),
      { numRuns: 300 },
    );
  });
});
