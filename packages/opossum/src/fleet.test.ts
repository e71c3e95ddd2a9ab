/**
 * Fleet-wide, on a RedisStore: two worker processes (./fleet-worker.test-support.ts), each with its
 * own connection, create `new CircuitBreaker(action, { ...options, store })` with the same name,
 * and so share one breaker:
 * - failures in one process open it for both: the other gets the `open` event without firing, and
 *   its calls are refused (EOPENBREAKER) without reaching its action;
 * - after resetTimeout both see `halfOpen`, and ONE trial call runs in the whole fleet;
 * - its success closes the breaker for both (`close` in each).
 * Plus, in this process: a breaker on a RedisStore behaves as opossum's on the path through
 * Breakwater's execute (timeouts, fallback, errorFilter).
 */
import { RedisStore } from '@breakwater/store-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerHandle } from '../../../test/support/redis-harness.js';
import { redisForFile } from '../../../test/support/redis-suite.js';
import CircuitBreaker from './index.js';

const WORKER = 'packages/opossum/src/fleet-worker.test-support.ts';

interface Message {
  readonly type: string;
  readonly [key: string]: unknown;
}

const redis = redisForFile();
let workers: WorkerHandle<Message>[];
let nextId = 0;

beforeAll(async () => {
  workers = [0, 1].map(() => spawnWorker<Message>(WORKER, [redis.server.url], {}, { timeoutMs: 15_000 }));
}, 60_000);

afterAll(async () => {
  for (const w of workers ?? []) {
    expect(w.messages.filter((m) => m.type === 'unhandled')).toEqual([]);
  }
});

async function fire(w: WorkerHandle<Message>, x: number | 'hold'): Promise<unknown> {
  const id = nextId++;
  const reply = w.waitFor((m) => m.type === 'fired' && m.id === id);
  w.send({ type: 'fire', id, x });
  return (await reply).outcome;
}

/** The worker's `name` event, among the messages from index `since` on. */
function eventAfter(w: WorkerHandle<Message>, since: number, name: string): Promise<Message> {
  return w.waitFor((m) => m.type === 'event' && m.name === name && w.messages.indexOf(m) >= since, 5_000);
}

function eventsOf(w: WorkerHandle<Message>, since: number): string[] {
  return w.messages
    .slice(since)
    .filter((m) => m.type === 'event')
    .map((m) => m.name as string);
}

function actionsOf(w: WorkerHandle<Message>, since: number): number {
  return w.messages.slice(since).filter((m) => m.type === 'action').length;
}

/** Resolves once `n` connections listen on the store's events channel (the fleet subscriptions). */
async function subscribers(n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [, count] = (await redis.client.pubsub('NUMSUB', 'breakwater:events')) as [string, number];
    if (count >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`fewer than ${n} subscribers on breakwater:events`);
}

describe('two processes share one breaker through a RedisStore', () => {
  it('opens for both, lets one trial through the whole fleet, and closes for both', async () => {
    const [a, b] = workers;
    const options = { resetTimeout: 1_000, volumeThreshold: 2, timeout: 5_000 };
    await Promise.all(
      workers.map((w, i) => {
        const ready = w.waitFor((m) => m.type === 'ready');
        w.send({ type: 'init', name: 'fleet-payments', processId: `worker-${i}`, options });
        return ready;
      }),
    );
    await subscribers(2);

    // Process a: one success, two failures (2 of 3 > 50%, at least volumeThreshold calls).
    expect(await fire(a, 1)).toBe(2);
    expect(await fire(a, -1)).toBe('Error');
    const bBefore = b.messages.length;
    expect(await fire(a, -1)).toBe('Error');
    await eventAfter(a, 0, 'open');
    // Process b hears of it without firing, then its calls are refused without reaching its action.
    await eventAfter(b, bBefore, 'open');
    expect(await fire(b, 5)).toBe('EOPENBREAKER');
    expect(actionsOf(b, bBefore)).toBe(0);
    expect(eventsOf(b, bBefore)).toEqual(['open', 'reject']);

    // After resetTimeout: half-open everywhere.
    const aHalf = a.messages.length;
    const bHalf = b.messages.length;
    await eventAfter(a, aHalf, 'halfOpen');
    await eventAfter(b, bHalf, 'halfOpen');

    // Both fire at once: one trial in the whole fleet (its action starts and holds); the other
    // call is refused while it holds.
    const trials = [fire(a, 'hold'), fire(b, 'hold')];
    const started = (w: WorkerHandle<Message>, since: number) =>
      w.waitFor((m) => m.type === 'action' && w.messages.indexOf(m) >= since, 5_000);
    await Promise.race([started(a, aHalf), started(b, bHalf)]);
    const firstDone = await Promise.race(trials);
    expect(firstDone).toBe('EOPENBREAKER');
    for (const w of workers) w.send({ type: 'release' });
    expect((await Promise.all(trials)).sort()).toEqual(['EOPENBREAKER', 'held']);
    // Each worker reports its action before its call's result: all are in by now.
    expect(actionsOf(a, aHalf) + actionsOf(b, bHalf)).toBe(1);

    // The trial's success closes the breaker for both.
    await eventAfter(a, aHalf, 'close');
    await eventAfter(b, bHalf, 'close');
    expect(await fire(b, 3)).toBe(6);
    expect(await fire(a, 4)).toBe(8);
  }, 60_000);
});

describe('a breaker on a RedisStore, in this process', () => {
  it("keeps opossum's rules on the path through Breakwater's execute", async () => {
    const store = new RedisStore({ client: redis.client, processId: 'test' });
    const b = new CircuitBreaker(
      (x: number) =>
        x === 0
          ? new Promise<number>(() => {})
          : x < 0
            ? Promise.reject(new Error(`${x}`))
            : Promise.resolve(x),
      {
        name: 'local-redis',
        store,
        timeout: 100,
        volumeThreshold: 3,
        errorFilter: (e: Error) => e.message === '-404',
      },
    );
    const events: string[] = [];
    for (const name of ['success', 'failure', 'timeout', 'open', 'reject', 'fallback'] as const) {
      b.on(name as 'open', () => events.push(name));
    }
    try {
      expect(await b.fire(1)).toBe(1);
      await expect(b.fire(-404)).rejects.toThrow('-404');
      await expect(b.fire(0)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      expect(b.closed).toBe(true); // 1 failure of 3
      b.fallback(() => 'fallback');
      expect(await b.fire(-1)).toBe('fallback'); // 2 of 4: not above 50%
      expect(await b.fire(-1)).toBe('fallback'); // 3 of 5
      // The outcome reaches Redis without the call waiting for it: the state it changed shows when
      // Redis has answered, a round trip later.
      await expect.poll(() => b.opened).toBe(true);
      expect(await b.fire(1)).toBe('fallback');
      expect(events).toEqual([
        'success',
        'success',
        'timeout',
        'failure',
        'failure',
        'fallback',
        'failure',
        'fallback',
        'open',
        'reject',
        'fallback',
      ]);
      expect(await b.getBreakwater().getState()).toBe('OPEN');
    } finally {
      b.shutdown();
      await store.close();
    }
  });
});
