/**
 * The cache in one process, without a shared tier: read-through, stampede protection, grace,
 * soft timeout, early refresh, copies, aborts, wrap and the decorator chain, options.
 */
import { CircuitBreaker, ConfigError, Decorators, ManualClock, Retry } from '@breakwater/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cache } from './cache.js';
import type { CacheEvent } from './cache-events.js';
import type { CacheOptions } from './cache-options.js';

const caches: Cache<unknown>[] = [];
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
  vi.useRealTimers();
});

function cache<T>(options: Partial<CacheOptions<T>> = {}, name = 'users'): Cache<T> {
  const c = Cache.of<T>(name, { ttlMs: 1_000, ...options });
  caches.push(c as Cache<unknown>);
  return c;
}

function recorder<T>(c: Cache<T>): CacheEvent[] {
  const events: CacheEvent[] = [];
  c.onEvent((e) => events.push(e));
  return events;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class DbDown extends Error {
  override name = 'DbDown';
}

describe('read-through', () => {
  it('loads a missing key once, then answers from L1 until the ttl ends', async () => {
    const clock = new ManualClock(10_000);
    const users = cache<{ id: string }>({ clock });
    const events = recorder(users);
    const load = vi.fn(async () => ({ id: '1' }));
    const first = await users.get('user:1', load);
    expect(first).toEqual({ id: '1' });
    // the stored value itself comes back (by reference)
    expect(await users.get('user:1', load)).toBe(first);
    expect(load).toHaveBeenCalledTimes(1);
    clock.advance(1_000);
    await users.get('user:1', load);
    expect(load).toHaveBeenCalledTimes(2);
    expect(events.map((e) => `${e.type}${'tier' in e ? ` ${e.tier}` : ''}`)).toEqual([
      'MISS l1',
      'LOADED',
      'HIT l1',
      'MISS l1',
      'LOADED',
    ]);
    expect(await users.getMetrics()).toMatchObject({ l1Hits: 1, l1Misses: 2, loaderCalls: 2, l1Entries: 1 });
  });

  it('keeps undefined and null as values, distinct from a miss and from each other', async () => {
    const c = cache<string | null | undefined>();
    const load = vi.fn(async (): Promise<string | null | undefined> => undefined);
    expect(await c.get('u', load)).toBeUndefined();
    expect(await c.get('u', load)).toBeUndefined();
    expect(load).toHaveBeenCalledTimes(1);
    const loadNull = vi.fn(async () => null);
    expect(await c.get('n', loadNull)).toBeNull();
    expect(await c.get('n', loadNull)).toBeNull();
    expect(loadNull).toHaveBeenCalledTimes(1);
  });

  it('bounds L1 by maxEntries, dropping the least recently used', async () => {
    const c = cache<number>({ l1: { maxEntries: 2 } });
    const load = vi.fn(async () => 1);
    await c.get('a', load);
    await c.get('b', load);
    await c.get('a', load); // a is now the most recent
    await c.get('c', load); // evicts b
    await c.get('a', load);
    expect(load).toHaveBeenCalledTimes(3);
    await c.get('b', load);
    expect(load).toHaveBeenCalledTimes(4);
    expect((await c.getMetrics()).l1Entries).toBe(2);
  });

  it('with l1: false, every get runs the loader (still once per key at a time)', async () => {
    const c = cache<number>({ l1: false });
    const load = vi.fn(async () => 7);
    await Promise.all([c.get('k', load), c.get('k', load)]);
    await c.get('k', load);
    expect(load).toHaveBeenCalledTimes(2);
    expect(await c.getMetrics()).toMatchObject({ l1Hits: 0, l1Misses: 0, l1Entries: 0 });
  });

  it('spreads expiries with ttlJitterMs', async () => {
    const clock = new ManualClock(0);
    const c = cache<number>({ clock, ttlMs: 1_000, ttlJitterMs: 500 });
    const load = vi.fn(async () => 1);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    for (const k of keys) await c.get(k, load);
    clock.advance(999);
    for (const k of keys) await c.get(k, load);
    expect(load).toHaveBeenCalledTimes(40); // none expired before the ttl
    clock.advance(251);
    for (const k of keys) await c.get(k, load);
    const expiredAt1250 = load.mock.calls.length - 40;
    expect(expiredAt1250).toBeGreaterThan(0); // some expired in the first half of the jitter...
    expect(expiredAt1250).toBeLessThan(40); // ...not all
  });
});

describe('stampede protection in the process', () => {
  it('100 concurrent misses of one key make one loader call, and all get its value', async () => {
    const c = cache<{ v: number }>();
    let resolve!: (v: { v: number }) => void;
    const load = vi.fn(() => new Promise<{ v: number }>((r) => (resolve = r)));
    const gets = Array.from({ length: 100 }, () => c.get('hot', load));
    await sleep(5);
    expect(load).toHaveBeenCalledTimes(1);
    resolve({ v: 1 });
    const values = await Promise.all(gets);
    expect(new Set(values).size).toBe(1);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('a failed load fails all its callers once; the next get loads again', async () => {
    const c = cache<number>();
    const load = vi.fn(async () => {
      throw new DbDown('db down');
    });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => c.get('k', load)));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof DbDown)).toBe(true);
    expect(load).toHaveBeenCalledTimes(1);
    await expect(c.get('k', load)).rejects.toBeInstanceOf(DbDown);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('a synchronous throw of the loader is a rejection', async () => {
    const c = cache<number>();
    await expect(
      c.get('k', () => {
        throw new DbDown('sync');
      }),
    ).rejects.toThrow('sync');
  });
});

describe('grace: a stale entry answers while the loader fails', () => {
  it('serves the stale value within graceMs, with LOADER_ERROR and STALE_SERVED, then fails after it', async () => {
    const clock = new ManualClock(0);
    const c = cache<string>({ clock, ttlMs: 1_000, graceMs: 5_000 });
    const events = recorder(c);
    await c.get('k', async () => 'v1');
    clock.advance(1_500); // stale
    const failing = vi.fn(async (): Promise<string> => {
      throw new DbDown('db down');
    });
    await expect(c.get('k', failing)).resolves.toBe('v1');
    expect(events.filter((e) => e.type === 'LOADER_ERROR' || e.type === 'STALE_SERVED')).toEqual([
      expect.objectContaining({ type: 'LOADER_ERROR', key: 'k', staleServed: true, background: false }),
      expect.objectContaining({ type: 'STALE_SERVED', key: 'k', cause: 'loader_error', staleForMs: 500 }),
    ]);
    clock.advance(4_500); // past the grace
    await expect(c.get('k', failing)).rejects.toBeInstanceOf(DbDown);
    expect(await c.getMetrics()).toMatchObject({ staleServed: 1, loaderErrors: 2 });
  });

  it('a successful load replaces the stale entry', async () => {
    const clock = new ManualClock(0);
    const c = cache<string>({ clock, ttlMs: 1_000, graceMs: 5_000 });
    await c.get('k', async () => 'v1');
    clock.advance(2_000);
    await expect(c.get('k', async () => 'v2')).resolves.toBe('v2');
    await expect(c.get('k', async () => 'v3')).resolves.toBe('v2');
  });

  it('with softTimeoutMs, a slow loader is answered with the stale value and still refreshes the entry', async () => {
    const clock = new ManualClock(0);
    const c = cache<string>({ clock, ttlMs: 1_000, graceMs: 60_000, softTimeoutMs: 30 });
    const events = recorder(c);
    await c.get('k', async () => 'v1');
    clock.advance(2_000);
    let finish!: (v: string) => void;
    const slow = vi.fn(() => new Promise<string>((r) => (finish = r)));
    const started = Date.now();
    await expect(c.get('k', slow)).resolves.toBe('v1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    // a get meanwhile joins the load in progress, answered at once with the stale value
    await expect(c.get('k', slow)).resolves.toBe('v1');
    expect(slow).toHaveBeenCalledTimes(1);
    finish('v2');
    await sleep(0);
    await expect(c.get('k', slow)).resolves.toBe('v2');
    expect(events.filter((e) => e.type === 'STALE_SERVED' || e.type === 'LOADED').map((e) => e.type)).toEqual(
      ['LOADED', 'STALE_SERVED', 'LOADED'],
    );
    expect(events.filter((e) => e.type === 'LOADED').at(-1)).toMatchObject({ background: true });
  });
});

describe('early refresh', () => {
  it('after the given share of the ttl, a hit answers at once and refreshes in the background', async () => {
    const clock = new ManualClock(0);
    const c = cache<string>({ clock, ttlMs: 1_000, earlyRefresh: 0.5 });
    await c.get('k', async () => 'v1');
    clock.advance(400);
    let finish!: (v: string) => void;
    const refresh = vi.fn(() => new Promise<string>((r) => (finish = r)));
    await expect(c.get('k', refresh)).resolves.toBe('v1');
    expect(refresh).not.toHaveBeenCalled();
    clock.advance(200); // 60 % of the ttl
    await expect(c.get('k', refresh)).resolves.toBe('v1');
    await expect(c.get('k', refresh)).resolves.toBe('v1'); // one refresh at a time
    expect(refresh).toHaveBeenCalledTimes(1);
    finish('v2');
    await sleep(0);
    await expect(c.get('k', refresh)).resolves.toBe('v2');
  });

  it('a failing refresh is an event, never a caller error, and the entry stays', async () => {
    const clock = new ManualClock(0);
    const c = cache<string>({ clock, ttlMs: 1_000, earlyRefresh: 0.5 });
    const events = recorder(c);
    await c.get('k', async () => 'v1');
    clock.advance(600);
    await expect(
      c.get('k', async () => {
        throw new DbDown('refresh failed');
      }),
    ).resolves.toBe('v1');
    await sleep(0);
    expect(events.find((e) => e.type === 'LOADER_ERROR')).toMatchObject({
      background: true,
      staleServed: false,
    });
    await expect(c.get('k', async () => 'v2')).resolves.toBe('v1');
  });
});

describe('copies and references', () => {
  it('hands out the stored value by default, a copy with copyOnRead', async () => {
    const shared = cache<{ n: number }>({}, 'by-ref');
    const a = await shared.get('k', async () => ({ n: 1 }));
    a.n = 2;
    expect((await shared.get('k', async () => ({ n: 9 }))).n).toBe(2);

    const copying = cache<{ n: number }>({ l1: { copyOnRead: true } }, 'by-copy');
    const loaded = { n: 1 };
    const b = await copying.get('k', async () => loaded);
    b.n = 2;
    loaded.n = 3;
    const c1 = await copying.get('k', async () => ({ n: 9 }));
    expect(c1.n).toBe(1);
    c1.n = 4;
    expect((await copying.get('k', async () => ({ n: 9 }))).n).toBe(1);
  });
});

describe('aborts', () => {
  it('a caller that aborts gets its reason; the load goes on for the others', async () => {
    const c = cache<string>();
    let loaderSignal!: AbortSignal;
    let finish!: (v: string) => void;
    const load = (signal: AbortSignal) => {
      loaderSignal = signal;
      return new Promise<string>((r) => (finish = r));
    };
    const leaving = new AbortController();
    const first = c.get('k', load, leaving.signal);
    const second = c.get('k', load);
    leaving.abort(new Error('caller left'));
    await expect(first).rejects.toThrow('caller left');
    expect(loaderSignal.aborted).toBe(false);
    finish('v');
    await expect(second).resolves.toBe('v');
  });

  it('when every caller has left, the loader is aborted and nothing is stored', async () => {
    const c = cache<string>();
    const seen: AbortSignal[] = [];
    const load = (signal: AbortSignal) =>
      new Promise<string>((_, reject) => {
        seen.push(signal);
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    const a = new AbortController();
    const b = new AbortController();
    const gets = [c.get('k', load, a.signal), c.get('k', load, b.signal)];
    a.abort(new Error('a left'));
    await expect(gets[0]).rejects.toThrow('a left');
    expect(seen[0].aborted).toBe(false);
    b.abort(new Error('b left'));
    await expect(gets[1]).rejects.toThrow('b left');
    expect(seen[0].aborted).toBe(true);
    await expect(c.get('k', async () => 'fresh')).resolves.toBe('fresh');
  });

  it('an already aborted signal rejects at once', async () => {
    const c = cache<string>();
    const load = vi.fn(async () => 'v');
    await expect(c.get('k', load, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
  });
});

describe('invalidation in the process', () => {
  it('delete drops the key, clear drops everything, and a load in flight does not store what it loaded', async () => {
    const c = cache<string>();
    await c.get('a', async () => 'a1');
    await c.get('b', async () => 'b1');
    expect(await c.delete('a')).toBe(true);
    await expect(c.get('a', async () => 'a2')).resolves.toBe('a2');
    expect(await c.clear()).toBe(true);
    await expect(c.get('b', async () => 'b2')).resolves.toBe('b2');

    let finish!: (v: string) => void;
    const inFlight = c.get('c', () => new Promise<string>((r) => (finish = r)));
    await c.delete('c');
    finish('old');
    await expect(inFlight).resolves.toBe('old');
    await expect(c.get('c', async () => 'new')).resolves.toBe('new');
  });

  it('set stores a value that the next get answers', async () => {
    const c = cache<string>();
    expect(await c.set('k', 'given')).toBe(true);
    await expect(c.get('k', async () => 'loaded')).resolves.toBe('given');
  });
});

describe('wrap and the decorator chain', () => {
  it('wrap caches a function by a key built from its arguments', async () => {
    const c = cache<string>();
    const find = vi.fn(async (id: string) => `user ${id}`);
    const getUser = c.wrap(find, { key: (id) => `user:${id}` });
    expect(await getUser('1')).toBe('user 1');
    expect(await getUser('1')).toBe('user 1');
    expect(find).toHaveBeenCalledTimes(1);
    expect(() => c.wrap(find, {} as never)).toThrow(/options.key must be a function/);
  });

  it('Decorators.ofFunction(loader).withCache(cache, key) answers hits without running the layers before it', async () => {
    const c = cache<string>();
    const find = vi.fn(async (id: string) => {
      if (find.mock.calls.length === 1) throw new DbDown('blip');
      return `user ${id}`;
    });
    const getUser = Decorators.ofFunction(find)
      .withRetry(Retry.of('db', { maxAttempts: 2, waitDuration: 0 }))
      .withCache(c, (id) => `user:${id}`)
      .decorate();
    expect(await getUser('7')).toBe('user 7');
    expect(await getUser('7')).toBe('user 7');
    expect(find).toHaveBeenCalledTimes(2); // one failure and its retry, then a hit
  });
});

describe('options', () => {
  it('are validated at construction, naming the field', () => {
    expect(() => Cache.of('x', {} as never)).toThrow(/'ttlMs' must be a number of milliseconds > 0/);
    expect(() => Cache.of('x', { ttlMs: 0 })).toThrow(ConfigError);
    expect(() => Cache.of('x', { ttlMs: 1, graceMs: -1 })).toThrow(/'graceMs'/);
    expect(() => Cache.of('x', { ttlMs: 1, earlyRefresh: 1 })).toThrow(/'earlyRefresh'/);
    expect(() => Cache.of('x', { ttlMs: 1, l1: { maxEntries: 0 } })).toThrow(
      /'maxEntries' must be an integer >= 1/,
    );
    expect(() => Cache.of('x', { ttlMs: 1, l2: {} as never })).toThrow(/'l2' must be a RedisCacheStore/);
    expect(() => Cache.of('x', { ttlMs: 1, fleetLock: true })).toThrow(
      /'fleetLock' must be false without an l2/,
    );
    expect(() => Cache.of('x', { ttlMs: 1, version: 'a:b' })).toThrow(/'version'/);
    expect(() => Cache.of('x', { ttlMs: 1, breaker: {} as never })).toThrow(/'breaker'/);
    expect(() => Cache.of('x', { ttlMs: 1, colour: 'blue' } as never)).toThrow(/'colour' is not an option/);
    expect(() => Cache.of('a:b', { ttlMs: 1 })).toThrow(/Cache name: 'name' must be a string/);
    expect(() => Cache.of('', { ttlMs: 1 })).toThrow(ConfigError);
  });

  it('default to an in-process breaker named after the cache with the shared-tier settings', () => {
    const c = cache<number>({}, 'orders');
    expect(c.breaker).toBeInstanceOf(CircuitBreaker);
    expect(c.breaker.name).toBe('cache:orders');
    expect(c.breaker.config).toMatchObject({
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 60,
      failureCountThreshold: 10,
      waitDurationInOpenState: 180_000,
    });
    expect(c.config).toMatchObject({ l2TimeoutMs: 50, version: '1', graceMs: 0, l1: { maxEntries: 10_000 } });
  });

  it('rejects a key that is not a string, and a loader that is not a function', async () => {
    const c = cache<number>();
    await expect(c.get(5 as never, async () => 1)).rejects.toThrow(/a key must be a string/);
    await expect(c.get('k', 'nope' as never)).rejects.toThrow(/loader must be a function/);
  });
});
