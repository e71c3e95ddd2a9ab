import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { deferred, settle, track } from '../../../../test/support/promises.js';
import { expectBreakersOnlyStoreRefused, expectConfigError } from '../common/config.test-support.js';
import { BulkheadFullError, ConfigError } from '../common/errors.js';
import { NEVER_ABORTED } from '../common/signal.js';
import {
  activeTimeouts,
  fakeTimersClock,
  fakeTimersForEachTest,
  realTimersAfterEach,
} from '../common/timers.test-support.js';
import { Bulkhead } from './bulkhead.js';
import { BULKHEAD_DEFAULTS, type BulkheadConfig } from './bulkhead-config.js';
import type { BulkheadEvent } from './bulkhead-events.js';
import { BulkheadRegistry } from './bulkhead-registry.js';
import {
  BULKHEAD_FULL,
  type BulkheadEngine,
  type BulkheadStore,
  type SlotFreedListener,
} from './bulkhead-store.js';
import { createBulkheadCell, LocalBulkheadEngine } from './local-bulkhead-engine.js';

// Whatever a test did with fake timers (a failed property run leaves them on).
realTimersAfterEach();

describe('Bulkhead config', () => {
  it('fills in the defaults', () => {
    const b = Bulkhead.ofDefaults('db');
    expect(b.config).toEqual(BULKHEAD_DEFAULTS);
    expect(BULKHEAD_DEFAULTS).toEqual({
      maxConcurrentCalls: 25,
      maxWaitDuration: 0,
      maxQueueSize: Number.POSITIVE_INFINITY,
    });
  });

  it.each([
    [{ maxConcurrentCalls: -1 }, 'maxConcurrentCalls'],
    [{ maxConcurrentCalls: 1.5 }, 'maxConcurrentCalls'],
    [{ maxWaitDuration: -1 }, 'maxWaitDuration'],
    [{ maxWaitDuration: Number.POSITIVE_INFINITY }, 'maxWaitDuration'],
    [{ maxQueueSize: -1 }, 'maxQueueSize'],
    [{ maxQueueSize: 0.5 }, 'maxQueueSize'],
    [{ maxConcurrent: 3 }, 'maxConcurrent'],
  ])('rejects %j naming the field', (config, field) => {
    expectConfigError(() => Bulkhead.of('db', config as never), field);
  });

  it('rejects a bad name and a bad clock', () => {
    expect(() => Bulkhead.of('a\nb')).toThrow(ConfigError);
    expect(() => Bulkhead.of('db', {}, { clock: { now: 5 } as never })).toThrow(/clock/);
  });
});

describe('Bulkhead', () => {
  fakeTimersForEachTest();

  const bulkhead = (config: BulkheadConfig) => Bulkhead.of('db', config, { clock: fakeTimersClock });

  it('runs up to maxConcurrentCalls at once and rejects the next at once when it may not wait', async () => {
    const b = bulkhead({ maxConcurrentCalls: 2 });
    const d1 = deferred<number>();
    const d2 = deferred<number>();
    const c1 = track(b.execute(() => d1.promise));
    const c2 = track(b.execute(() => d2.promise));
    expect(await b.getMetrics()).toEqual({
      availableConcurrentCalls: 0,
      maxAllowedConcurrentCalls: 2,
      queueDepth: 0,
    });
    const fn = vi.fn();
    const c3 = track(b.execute(fn));
    await settle();
    expect(c3.error).toBeInstanceOf(BulkheadFullError);
    expect((c3.error as BulkheadFullError).bulkheadName).toBe('db');
    expect(fn).not.toHaveBeenCalled();
    d1.resolve(1);
    await settle();
    expect(c1.value).toBe(1);
    await expect(b.execute(() => 3)).resolves.toBe(3);
    d2.reject(new Error('x'));
    await settle();
    expect((c2.error as Error).message).toBe('x');
    expect((await b.getMetrics()).availableConcurrentCalls).toBe(2);
  });

  it('gives the slot back however the call ends', async () => {
    const b = bulkhead({ maxConcurrentCalls: 1 });
    await expect(
      b.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(
      b.execute(() => {
        throw 42;
      }),
    ).rejects.toBe(42);
    await expect(b.execute(() => Promise.reject(null))).rejects.toBeNull();
    await expect(b.execute(() => 'sync value')).resolves.toBe('sync value');
    // biome-ignore lint/suspicious/noThenProperty: a non-native thenable is the point of this case.
    const thenable = { then: (ok: (v: string) => void) => ok('thenable') };
    await expect(b.execute(() => thenable as PromiseLike<string>)).resolves.toBe('thenable');
    expect((await b.getMetrics()).availableConcurrentCalls).toBe(1);
  });

  it('passes the caller signal, or a never-aborted one', async () => {
    const b = bulkhead({});
    const controller = new AbortController();
    await expect(b.execute((s) => s)).resolves.toBe(NEVER_ABORTED);
    await expect(b.execute((s) => s, controller.signal)).resolves.toBe(controller.signal);
  });

  it('queues callers in FIFO order and hands each freed slot to the oldest', async () => {
    const b = bulkhead({ maxConcurrentCalls: 1, maxWaitDuration: 1_000 });
    const order: string[] = [];
    const first = deferred();
    b.execute(() => first.promise);
    const calls = ['a', 'b', 'c'].map((name) => {
      const d = deferred();
      const fn = () => {
        order.push(name);
        return d.promise;
      };
      return { d, t: track(b.execute(fn)) };
    });
    expect((await b.getMetrics()).queueDepth).toBe(3);
    first.resolve();
    await settle();
    expect(order).toEqual(['a']);
    calls[0].d.resolve();
    await settle();
    calls[1].d.resolve();
    await settle();
    calls[2].d.resolve();
    await settle();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(calls.every((c) => c.t.done)).toBe(true);
  });

  it('a waiter whose maxWaitDuration runs out leaves the queue with BulkheadFullError and never runs', async () => {
    const b = bulkhead({ maxConcurrentCalls: 1, maxWaitDuration: 100 });
    const running = deferred();
    b.execute(() => running.promise);
    const fn = vi.fn();
    const waiter = track(b.execute(fn));
    await vi.advanceTimersByTimeAsync(99);
    expect(waiter.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(waiter.error).toBeInstanceOf(BulkheadFullError);
    expect((await b.getMetrics()).queueDepth).toBe(0);
    running.resolve();
    await settle();
    expect(fn).not.toHaveBeenCalled();
    expect((await b.getMetrics()).availableConcurrentCalls).toBe(1);
  });

  it('a waiter that aborts leaves the queue with the abort reason and never runs', async () => {
    const b = bulkhead({ maxConcurrentCalls: 1, maxWaitDuration: 1_000 });
    const running = deferred();
    b.execute(() => running.promise);
    const controller = new AbortController();
    const fn = vi.fn();
    const waiter = track(b.execute(fn, controller.signal));
    const next = vi.fn(() => 'next');
    const after = track(b.execute(next));
    controller.abort(new Error('gone'));
    await settle();
    expect((waiter.error as Error).message).toBe('gone');
    expect((await b.getMetrics()).queueDepth).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    running.resolve();
    await settle();
    expect(fn).not.toHaveBeenCalled();
    expect(after.value).toBe('next');
  });

  it('rejects an already aborted caller at once', async () => {
    const b = bulkhead({ maxConcurrentCalls: 1 });
    const controller = new AbortController();
    controller.abort('no');
    await expect(b.execute(() => 1, controller.signal)).rejects.toBe('no');
    expect((await b.getMetrics()).availableConcurrentCalls).toBe(1);
  });

  it('maxQueueSize bounds the queue: one more caller is rejected at once', async () => {
    const b = bulkhead({ maxConcurrentCalls: 1, maxWaitDuration: 1_000, maxQueueSize: 1 });
    b.execute(() => deferred().promise);
    const queued = track(b.execute(() => 1));
    const extra = track(b.execute(() => 1));
    await settle();
    expect(queued.done).toBe(false);
    expect(extra.error).toBeInstanceOf(BulkheadFullError);
  });

  it('maxConcurrentCalls 0 rejects every call', async () => {
    const b = bulkhead({ maxConcurrentCalls: 0, maxWaitDuration: 10 });
    const call = track(b.execute(() => 1));
    await vi.advanceTimersByTimeAsync(10);
    expect(call.error).toBeInstanceOf(BulkheadFullError);
  });

  it('publishes CALL_PERMITTED, CALL_REJECTED (with the reason) and CALL_FINISHED', async () => {
    const b = bulkhead({ maxConcurrentCalls: 1, maxWaitDuration: 50, maxQueueSize: 2 });
    const events: BulkheadEvent[] = [];
    const permitted: BulkheadEvent[] = [];
    b.onEvent((e) => events.push(e));
    const off = b.on('CALL_PERMITTED', (e) => permitted.push(e));
    const running = deferred();
    b.execute(() => running.promise);
    const controller = new AbortController();
    b.execute(() => 1, controller.signal).catch(() => {});
    b.execute(() => 1).catch(() => {});
    b.execute(() => 1).catch(() => {});
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    await vi.advanceTimersByTimeAsync(50);
    running.resolve();
    await settle();
    expect(events.map((e) => [e.type, e.at, e.type === 'CALL_REJECTED' ? e.reason : ''])).toEqual([
      ['CALL_PERMITTED', 0, ''],
      ['CALL_REJECTED', 0, 'FULL'],
      ['CALL_REJECTED', 10, 'ABORTED'],
      ['CALL_REJECTED', 50, 'TIMEOUT'],
      ['CALL_FINISHED', 60, ''],
    ]);
    expect(events[0]).toEqual({ kind: 'bulkhead', type: 'CALL_PERMITTED', name: 'db', at: 0 });
    expect(permitted).toHaveLength(1);
    off();
  });

  it('decorate keeps the arguments and the result', async () => {
    const b = bulkhead({});
    const greet = b.decorate((who: string) => `hi ${who}`);
    await expect(greet('bob')).resolves.toBe('hi bob');
  });
});

describe('Bulkhead with a store', () => {
  fakeTimersForEachTest();

  it('bulkheads sharing one cell share the slots, and a release in one wakes a waiter of the other', async () => {
    const cell = createBulkheadCell(0);
    const store: BulkheadStore = {
      bulkhead: (_name, settings, onSlotFreed) => new LocalBulkheadEngine(settings, onSlotFreed, () => cell),
    };
    const config = { maxConcurrentCalls: 2, maxWaitDuration: 100 };
    const a = Bulkhead.of('db', config, { store, clock: fakeTimersClock });
    const b = Bulkhead.of('db', config, { store, clock: fakeTimersClock });
    const d1 = deferred();
    a.execute(() => d1.promise);
    b.execute(() => deferred().promise);
    const waiting = track(b.execute(() => 'b got it'));
    expect((await a.getMetrics()).availableConcurrentCalls).toBe(0);
    d1.resolve();
    await settle();
    expect(waiting.value).toBe('b got it');
    a.close();
    b.close();
    expect(cell.listeners.size).toBe(0);
  });

  it('awaits a remote engine and retries for its queue when told a slot freed', async () => {
    let inUse = 0;
    let notify: SlotFreedListener = () => {};
    const log: string[] = [];
    const store: BulkheadStore & { kind: string } = {
      kind: 'fake',
      bulkhead: (_name, settings, onSlotFreed) => {
        notify = onSlotFreed;
        const engine: BulkheadEngine = {
          tryAcquire: async () => {
            if (inUse >= settings.maxConcurrentCalls) return BULKHEAD_FULL;
            inUse++;
            log.push(`lease ${inUse}`);
            return 100 + inUse;
          },
          release: async (lease) => {
            log.push(`release ${lease}`);
            inUse--;
          },
          read: async () => inUse,
          close: () => {},
        };
        return engine;
      },
    };
    const b = Bulkhead.of(
      'remote',
      { maxConcurrentCalls: 1, maxWaitDuration: 100 },
      { store, clock: fakeTimersClock },
    );
    await expect(b.execute(() => 'one')).resolves.toBe('one');
    // Another process holds the only slot.
    inUse = 1;
    const waiting = track(b.execute(() => 'two'));
    await settle();
    expect(waiting.done).toBe(false);
    inUse = 0;
    notify();
    await settle();
    expect(waiting.value).toBe('two');
    expect(log).toEqual(['lease 1', 'release 101', 'lease 1', 'release 101']);
  });

  it('refuses a store that cannot hold bulkheads, naming the store and what it lacks', () => {
    expectBreakersOnlyStoreRefused({ kind: 'bulkhead', holds: 'bulkheads', method: 'bulkhead' }, (store) => [
      // @ts-expect-error: a store without bulkhead() is not a BulkheadStore
      () => Bulkhead.of('x', { maxConcurrentCalls: 1 }, { store }),
      // @ts-expect-error: the same through a registry
      () => BulkheadRegistry.of({ store }).bulkhead('x'),
    ]);
  });
});

describe('timers of waiting callers', () => {
  it('keep the process alive while waiting, and are gone once the caller aborts', async () => {
    const b = Bulkhead.of('t', { maxConcurrentCalls: 1, maxWaitDuration: 60_000 });
    const running = deferred();
    b.execute(() => running.promise);
    const before = activeTimeouts();
    const controller = new AbortController();
    const waiting = b.execute(() => 1, controller.signal).catch(() => 'aborted');
    expect(activeTimeouts()).toBe(before + 1);
    controller.abort();
    expect(activeTimeouts()).toBe(before);
    running.resolve();
    await expect(waiting).resolves.toBe('aborted');
  });

  it('are gone as soon as the waiter gets its slot', async () => {
    const b = Bulkhead.of('t', { maxConcurrentCalls: 1, maxWaitDuration: 60_000 });
    const running = deferred();
    const holder = b.execute(() => running.promise);
    const before = activeTimeouts();
    const waiting = b.execute(() => 'ran');
    expect(activeTimeouts()).toBe(before + 1);
    running.resolve();
    await holder;
    expect(activeTimeouts()).toBe(before);
    await expect(waiting).resolves.toBe('ran');
  });
});

// ---------------------------------------------------------------------------- properties

type Op =
  | { readonly kind: 'call'; readonly abortable: boolean }
  | { readonly kind: 'finish'; readonly pick: number; readonly fail: boolean }
  | { readonly kind: 'abort'; readonly pick: number }
  | { readonly kind: 'advance'; readonly ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('call' as const), abortable: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(), fail: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
  },
);

describe('Bulkhead properties', () => {
  it('never exceeds maxConcurrentCalls, serves in FIFO order, and aborted or timed-out waiters never run', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 100 }),
        fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
        fc.array(opArb, { maxLength: 60 }),
        async (max, maxWait, maxQueue, ops) => {
          vi.useFakeTimers({ now: 0 });
          const b = Bulkhead.of(
            'p',
            { maxConcurrentCalls: max, maxWaitDuration: maxWait, maxQueueSize: maxQueue },
            { clock: fakeTimersClock },
          );
          let running = 0;
          let mostRunning = 0;
          const started: number[] = [];
          const finishers = new Map<number, (fail: boolean) => void>();
          const controllers = new Map<number, AbortController>();
          const outcomes: ReturnType<typeof track<unknown>>[] = [];
          const leftQueue = new Set<number>();
          for (const op of ops) {
            if (op.kind === 'call') {
              const i = outcomes.length;
              const controller = op.abortable ? new AbortController() : undefined;
              if (controller) controllers.set(i, controller);
              const fn = () => {
                running++;
                // Not expect(): a throw here would only reject this one call.
                mostRunning = Math.max(mostRunning, running);
                started.push(i);
                return new Promise((resolve, reject) => {
                  finishers.set(i, (fail) => {
                    running--;
                    finishers.delete(i);
                    if (fail) reject(new Error('f'));
                    else resolve(i);
                  });
                });
              };
              outcomes.push(track(b.execute(fn, controller?.signal)));
            } else if (op.kind === 'finish') {
              const live = [...finishers.values()];
              if (live.length > 0) live[op.pick % live.length](op.fail);
            } else if (op.kind === 'abort') {
              const live = [...controllers.entries()].filter(
                ([i]) => !outcomes[i].done && !started.includes(i),
              );
              if (live.length > 0) {
                const [i, controller] = live[op.pick % live.length];
                controllers.delete(i);
                controller.abort();
                leftQueue.add(i);
              }
            } else {
              await vi.advanceTimersByTimeAsync(op.ms);
            }
            await settle();
            for (const [i, t] of outcomes.entries()) {
              if (t.error instanceof BulkheadFullError && !started.includes(i)) leftQueue.add(i);
            }
          }
          // Drain: finish everything, let every wait run out.
          while (finishers.size > 0) {
            for (const finish of [...finishers.values()]) finish(false);
            await settle();
          }
          await vi.advanceTimersByTimeAsync(1_000);
          await settle();
          expect(outcomes.every((t) => t.done)).toBe(true);
          expect(mostRunning).toBeLessThanOrEqual(max);
          for (const i of leftQueue) expect(started).not.toContain(i);
          // FIFO: a call started immediately only when nobody was queued, so starts follow call order.
          expect(started).toEqual([...started].sort((x, y) => x - y));
          expect(await b.getMetrics()).toEqual({
            availableConcurrentCalls: max,
            maxAllowedConcurrentCalls: max,
            queueDepth: 0,
          });
          vi.useRealTimers();
        },
      ),
      { numRuns: 200 },
    );
  });
});
