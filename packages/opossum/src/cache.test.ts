/**
 * The cache (`cache`, `cacheTTL`, `cacheGetKey`, `cacheTransport`, `cacheSize`, `clearCache`) and
 * coalescing (`coalesce`, `coalesceTTL`, `coalesceResetOn`, `coalesceSize`), as opossum documents
 * them, with their events and stats.
 */
import { describe, expect, it } from 'vitest';
import { deferred } from '../../../test/support/promises.js';
import { type CacheTransport, MemoryCache } from './index.js';
import { breaker, namesOf, record } from './opossum.test-support.js';
import { elapse, fakeClock, T0, useFakeTime } from './time.test-support.js';

/** An action that counts its calls and resolves with `${x}#${call number}`. */
function counting() {
  let calls = 0;
  const action = async (x: string) => `${x}#${++calls}`;
  return { action, calls: () => calls };
}

/** On fake time: `fire` answers `first`, the same for `ttl` ms, then `next` once they have passed. */
async function expectKeptFor(fire: () => Promise<unknown>, ttl: number, first: unknown, next: unknown) {
  expect(await fire()).toBe(first);
  await elapse(ttl - 1);
  expect(await fire()).toBe(first);
  await elapse(1);
  expect(await fire()).toBe(next);
}

describe('cache', () => {
  it('serves the first successful result per key until clearCache(); cacheHit/cacheMiss and stats', async () => {
    const { action, calls } = counting();
    const b = breaker(action, { cache: true });
    const events = record(b, ['cacheHit', 'cacheMiss', 'cacheInvalidate', 'fire']);
    expect(await b.fire('a')).toBe('a#1');
    expect(await b.fire('a')).toBe('a#1');
    expect(await b.fire('b')).toBe('b#2');
    expect(calls()).toBe(2);
    expect(namesOf(events)).toEqual(['fire', 'cacheMiss', 'fire', 'cacheHit', 'fire', 'cacheMiss']);
    expect(b.stats).toMatchObject({ fires: 3, cacheHits: 1, cacheMisses: 2, successes: 2 });
    b.clearCache();
    expect(namesOf(events).at(-1)).toBe('cacheInvalidate');
    expect(await b.fire('a')).toBe('a#3');
  });

  it('does not cache failures', async () => {
    let fail = true;
    const b = breaker(
      async (x: string) => {
        if (fail) throw new Error('down');
        return x;
      },
      { cache: true, volumeThreshold: 10 },
    );
    await expect(b.fire('a')).rejects.toThrow('down');
    fail = false;
    await expect(b.fire('a')).resolves.toBe('a');
  });

  it('serves the cache even while the breaker is open', async () => {
    const { action } = counting();
    const b = breaker(action, { cache: true });
    await b.fire('a');
    b.open();
    await expect(b.fire('a')).resolves.toBe('a#1');
    await expect(b.fire('b')).rejects.toMatchObject({ code: 'EOPENBREAKER' });
  });

  it('cacheTTL: an entry lives that long', async () => {
    useFakeTime();
    const { action } = counting();
    const b = breaker(action, { cache: true, cacheTTL: 1000, clock: fakeClock });
    await expectKeptFor(() => b.fire('a'), 1000, 'a#1', 'a#2');
  });

  it('cacheGetKey: the key of a call (default: JSON of the arguments)', async () => {
    const { action, calls } = counting();
    const byFirstLetter = breaker(action, { cache: true, cacheGetKey: (x: string) => x[0] });
    await byFirstLetter.fire('apple');
    expect(await byFirstLetter.fire('avocado')).toBe('apple#1');
    expect(calls()).toBe(1);
  });

  it('cacheTransport: get, then set with the promise and the expiry (epoch ms, 0 for none), flush', async () => {
    useFakeTime();
    const log: unknown[][] = [];
    const store = new Map<string, unknown>();
    const transport: CacheTransport = {
      get: (key) => {
        log.push(['get', key]);
        return store.get(key);
      },
      set: (key, value, ttl) => {
        log.push(['set', key, ttl]);
        store.set(key, value);
      },
      flush: () => {
        log.push(['flush']);
        store.clear();
      },
    };
    const b = breaker(async (x: number) => x * 10, {
      cache: true,
      cacheTransport: transport,
      cacheTTL: 500,
      clock: fakeClock,
    });
    expect(await b.fire(1)).toBe(10);
    expect(await b.fire(1)).toBe(10);
    b.clearCache();
    expect(log).toEqual([['get', '[1]'], ['set', '[1]', T0 + 500], ['get', '[1]'], ['flush']]);
    expect(store.size).toBe(0);
  });

  it('rejects a cacheTransport without get, set and flush', () => {
    expect(() =>
      breaker(async () => 1, {
        cache: true,
        cacheTransport: { get: () => undefined } as unknown as CacheTransport,
      }),
    ).toThrow(TypeError);
  });

  it('cacheSize bounds the default transport, the oldest entry going first', async () => {
    const { action, calls } = counting();
    const b = breaker(action, { cache: true, cacheSize: 2 });
    await b.fire('a');
    await b.fire('b');
    await b.fire('c'); // evicts 'a'
    expect(await b.fire('b')).toBe('b#2');
    expect(await b.fire('a')).toBe('a#4');
    expect(calls()).toBe(4);
  });

  it('MemoryCache keeps entries until their expiry', () => {
    let now = 1000;
    const cache = new MemoryCache(undefined, () => now);
    cache.set('k', 'v', 1500);
    cache.set('forever', 'w', 0);
    expect(cache.get('k')).toBe('v');
    now = 1500;
    expect(cache.get('k')).toBeUndefined();
    expect(cache.get('forever')).toBe('w');
  });
});

describe('coalesce', () => {
  it('calls with the same key while one runs share its promise; coalesceCacheHit/Miss and stats', async () => {
    const gate = deferred<void>();
    let calls = 0;
    const b = breaker(
      async (x: string) => {
        calls++;
        await gate.promise;
        return `${x}!`;
      },
      { coalesce: true },
    );
    const events = record(b, ['coalesceCacheHit', 'coalesceCacheMiss']);
    const first = b.fire('a');
    const second = b.fire('a');
    const other = b.fire('b');
    expect(second).toBe(first);
    gate.resolve();
    expect(await Promise.all([first, second, other])).toEqual(['a!', 'a!', 'b!']);
    expect(calls).toBe(2);
    expect(namesOf(events)).toEqual(['coalesceCacheMiss', 'coalesceCacheHit', 'coalesceCacheMiss']);
    expect(b.stats).toMatchObject({ coalesceCacheHits: 1, coalesceCacheMisses: 2 });
  });

  it('coalesceTTL (default: timeout): how long a call is shared, its result included', async () => {
    useFakeTime();
    let calls = 0;
    const b = breaker(async () => ++calls, { coalesce: true, coalesceTTL: 1000, clock: fakeClock });
    await expectKeptFor(() => b.fire(), 1000, 1, 2);
    const byTimeout = breaker(async () => ++calls, { coalesce: true, timeout: 200, clock: fakeClock });
    await expectKeptFor(() => byTimeout.fire(), 200, 3, 4);
  });

  it("coalesceResetOn: 'success' | 'error' | 'timeout' end the sharing when the call ends so", async () => {
    let calls = 0;
    let fail = false;
    const action = async () => {
      calls++;
      if (fail) throw new Error('down');
      return calls;
    };
    const onSuccess = breaker(action, { coalesce: true, coalesceResetOn: ['success'] });
    expect(await onSuccess.fire()).toBe(1);
    expect(await onSuccess.fire()).toBe(2);
    fail = true;
    const onError = breaker(action, { coalesce: true, coalesceResetOn: ['error'], volumeThreshold: 10 });
    await onError.fire().catch(() => {});
    await onError.fire().catch(() => {});
    expect(calls).toBe(4);
    const notOnError = breaker(action, { coalesce: true, coalesceResetOn: ['success'], volumeThreshold: 10 });
    await notOnError.fire().catch(() => {});
    await notOnError.fire().catch(() => {});
    expect(calls).toBe(5);
  });

  it('a call the open breaker refuses is not shared', async () => {
    let calls = 0;
    const b = breaker(async () => ++calls, { coalesce: true });
    b.open();
    await expect(b.fire()).rejects.toMatchObject({ code: 'EOPENBREAKER' });
    b.close();
    expect(await b.fire()).toBe(1);
  });

  it('clearCache() empties the coalescing cache too', async () => {
    let calls = 0;
    const b = breaker(async () => ++calls, { coalesce: true, coalesceTTL: 0 });
    expect(await b.fire()).toBe(1);
    expect(await b.fire()).toBe(1);
    b.clearCache();
    expect(await b.fire()).toBe(2);
  });

  it('coalesceSize bounds the coalescing cache', async () => {
    let calls = 0;
    const b = breaker(async (x: string) => `${x}${++calls}`, {
      coalesce: true,
      coalesceTTL: 0,
      coalesceSize: 1,
    });
    expect(await b.fire('a')).toBe('a1');
    expect(await b.fire('b')).toBe('b2'); // evicts 'a'
    expect(await b.fire('a')).toBe('a3');
  });
});
