import fc from 'fast-check';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { Bulkhead } from '../bulkhead/bulkhead.js';
import { CircuitBreaker } from '../circuit-breaker/circuit-breaker.js';
import type { CircuitBreakerConfig } from '../circuit-breaker/circuit-breaker-config.js';
import { ManualClock } from '../common/clock.js';
import {
  BulkheadFullError,
  CallNotPermittedError,
  ConfigError,
  RequestNotPermittedError,
  TimeoutError,
} from '../common/errors.js';
import { NEVER_ABORTED } from '../common/signal.js';
import { Fallback } from '../fallback/fallback.js';
import { RateLimiter } from '../rate-limiter/rate-limiter.js';
import { Retry } from '../retry/retry.js';
import { TimeLimiter } from '../time-limiter/time-limiter.js';
import { type DecoratedSupplier, Decorators, type SupplierDecorator } from './decorators.js';
import type { ReadThroughCache } from './read-through-cache.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

class Boom extends Error {
  override name = 'Boom';
}

/** A breaker that never opens on its own and records every call (the minimum is never reached). */
const COUNTING: CircuitBreakerConfig = {
  slidingWindowType: 'COUNT_BASED',
  slidingWindowSize: 1000,
  minimumNumberOfCalls: 1000,
};
const counting = (name = 'cb') => CircuitBreaker.of(name, COUNTING);
const quickRetry = (maxAttempts = 3, name = 'r') => Retry.of(name, { maxAttempts, waitDuration: 0 });
const roomyLimiter = (name = 'rl') =>
  RateLimiter.of(name, { limitForPeriod: 1000, limitRefreshPeriod: 60_000, timeoutDuration: 0 });

/** A function failing with Boom on its first `failures` calls, then returning 'ok'. */
function flaky(failures: number) {
  const fn = vi.fn(async (_signal?: AbortSignal): Promise<string> => {
    if (fn.mock.calls.length <= failures) throw new Boom(`failure ${fn.mock.calls.length}`);
    return 'ok';
  });
  return fn;
}

async function breakerCounts(cb: CircuitBreaker) {
  const m = await cb.getMetrics();
  return {
    failed: m.numberOfFailedCalls,
    ok: m.numberOfSuccessfulCalls,
    notPermitted: m.numberOfNotPermittedCalls,
  };
}

/** Resolves when `signal` aborts, rejecting with its reason (a function that honours its signal). */
const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

// ====================================================================== no layers

describe('Decorators.ofSupplier', () => {
  it('decorate() returns the function and get() runs it once', async () => {
    const fn = vi.fn(async () => 42);
    const builder = Decorators.ofSupplier(fn);
    const call = builder.decorate();
    expect(fn).not.toHaveBeenCalled();
    await expect(call()).resolves.toBe(42);
    await expect(builder.get()).resolves.toBe(42);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('turns a plain value into a promise and a synchronous throw into a rejection', async () => {
    await expect(Decorators.ofSupplier(() => 'v').get()).resolves.toBe('v');
    const boom = new Boom('sync');
    const call = Decorators.ofSupplier((): string => {
      throw boom;
    })
      .withCircuitBreaker(counting())
      .decorate();
    const result = call();
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBe(boom);
    const bare = Decorators.ofSupplier((): string => {
      throw boom;
    }).decorate();
    let pending: Promise<string> | undefined;
    expect(() => {
      pending = bare();
    }).not.toThrow();
    await expect(pending).rejects.toBe(boom);
  });

  it('hands the supplier the caller signal, or one that never aborts', async () => {
    const seen: AbortSignal[] = [];
    const call = Decorators.ofSupplier((signal) => seen.push(signal)).decorate();
    const controller = new AbortController();
    await call();
    await call(controller.signal);
    expect(seen).toEqual([NEVER_ABORTED, controller.signal]);
  });

  it('rejects a signal argument that is not an AbortSignal (e.g. decorated.map misuse)', async () => {
    const call = Decorators.ofSupplier(async () => 1)
      .withRetry(quickRetry())
      .decorate() as unknown as (x: unknown) => Promise<number>;
    await expect(call(7)).rejects.toThrow(/takes an AbortSignal.*got number/);
    await expect(call(null)).rejects.toThrow(/got null/);
  });

  it('validates its arguments, naming the field', () => {
    expect(() => Decorators.ofSupplier(5 as never)).toThrow(ConfigError);
    expect(() => Decorators.ofFunction(undefined as never)).toThrow(/'fn' must be a function/);
    const b = Decorators.ofSupplier(async () => 1);
    expect(() => b.withCircuitBreaker({} as never)).toThrow(/withCircuitBreaker: 'circuitBreaker'/);
    expect(() => b.withRetry(undefined as never)).toThrow(/withRetry: 'retry' must be a Retry/);
    expect(() => b.withTimeLimiter(null as never)).toThrow(/'timeLimiter'/);
    expect(() => b.withBulkhead(1 as never)).toThrow(/'bulkhead'/);
    expect(() => b.withRateLimiter('x' as never)).toThrow(/'rateLimiter'/);
    const rl = RateLimiter.of('rl', { limitForPeriod: 5 });
    expect(() => b.withRateLimiter(rl, 0)).toThrow(/'permits' must be an integer in \[1, 5\]/);
    expect(() => b.withRateLimiter(rl, 6)).toThrow(ConfigError);
    expect(() => b.withRateLimiter(rl, 1.5)).toThrow(ConfigError);
    expect(() => b.withFallback({} as never)).toThrow(/withFallback: '\(arguments\)' must be/);
    expect(() => b.withFallback({ on: [Boom], fallback: () => 1 } as never)).toThrow(ConfigError);
    expect(() => b.withFallback({ whenResult: () => true } as never)).toThrow(/'fallback'/);
    expect(() => b.withFallback({ whenResult: () => true, fallback: () => 1, x: 1 } as never)).toThrow(
      /'x' is not an option/,
    );
    expect(() => b.withFallback([Boom], 'x' as never)).toThrow(/'fallback'/);
    expect(() => b.withFallback(['x'] as never, () => 1)).toThrow(/'on'/);
  });

  it('builders are immutable: a common prefix can be reused', async () => {
    const fn = flaky(1);
    const base = Decorators.ofSupplier(fn).withRetry(quickRetry(2));
    const withFb = base.withFallback(() => 'fb');
    const cb = counting();
    const withCb = base.withCircuitBreaker(cb);
    expect(withFb).not.toBe(base);
    await expect(withCb.get()).resolves.toBe('ok');
    expect(await breakerCounts(cb)).toMatchObject({ ok: 1, failed: 0 });
    fn.mockClear();
    await expect(base.get()).resolves.toBe('ok');
  });
});

// ====================================================================== each with*

describe('withCircuitBreaker', () => {
  it('records outcomes and rejects with CallNotPermittedError once open', async () => {
    const cb = counting();
    const fn = flaky(1);
    const call = Decorators.ofSupplier(fn).withCircuitBreaker(cb).decorate();
    await expect(call()).rejects.toBeInstanceOf(Boom);
    await expect(call()).resolves.toBe('ok');
    expect(await breakerCounts(cb)).toMatchObject({ failed: 1, ok: 1 });
    await cb.transitionToOpenState();
    await expect(call()).rejects.toBeInstanceOf(CallNotPermittedError);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});

describe('withRetry', () => {
  it('calls again on failure, up to maxAttempts', async () => {
    const fn = flaky(2);
    await expect(Decorators.ofSupplier(fn).withRetry(quickRetry(3)).get()).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
    const always = flaky(99);
    await expect(Decorators.ofSupplier(always).withRetry(quickRetry(4)).get()).rejects.toBeInstanceOf(Boom);
    expect(always).toHaveBeenCalledTimes(4);
  });
});

describe('withRateLimiter', () => {
  it('takes one permit per call and rejects at once when none will come in time', async () => {
    const rl = RateLimiter.of('rl', { limitForPeriod: 2, limitRefreshPeriod: 60_000, timeoutDuration: 0 });
    const fn = vi.fn(async () => 'v');
    const call = Decorators.ofSupplier(fn).withRateLimiter(rl).decorate();
    await call();
    await call();
    await expect(call()).rejects.toBeInstanceOf(RequestNotPermittedError);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('takes several permits per call when asked', async () => {
    const rl = RateLimiter.of('rl', { limitForPeriod: 5, limitRefreshPeriod: 60_000, timeoutDuration: 0 });
    const seen: AbortSignal[] = [];
    const call = Decorators.ofSupplier((s) => {
      seen.push(s);
      return 'v';
    })
      .withRateLimiter(rl, 2)
      .decorate();
    await call();
    expect((await rl.getMetrics()).availablePermissions).toBe(3);
    await call();
    await expect(call()).rejects.toBeInstanceOf(RequestNotPermittedError);
    expect(seen).toEqual([NEVER_ABORTED, NEVER_ABORTED]);
    const caller = new AbortController();
    const rl2 = RateLimiter.of('rl2', { limitForPeriod: 5, limitRefreshPeriod: 60_000, timeoutDuration: 0 });
    await Decorators.ofSupplier((s) => seen.push(s))
      .withRateLimiter(rl2, 3)
      .get(caller.signal);
    expect(seen[2]).toBe(caller.signal);
  });
});

describe('withTimeLimiter', () => {
  it('rejects with TimeoutError and aborts the signal the function received', async () => {
    const tl = TimeLimiter.of('tl', { timeoutDuration: 20 });
    let received: AbortSignal | undefined;
    const call = Decorators.ofSupplier((signal) => {
      received = signal;
      return untilAborted(signal);
    })
      .withTimeLimiter(tl)
      .decorate();
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(received?.aborted).toBe(true);
    expect(received?.reason).toBe(error);
  });
});

describe('withBulkhead', () => {
  it('rejects a call beyond maxConcurrentCalls with BulkheadFullError', async () => {
    const bh = Bulkhead.of('bh', { maxConcurrentCalls: 1 });
    let release = () => {};
    const call = Decorators.ofSupplier(() => new Promise<string>((r) => (release = () => r('done'))))
      .withBulkhead(bh)
      .decorate();
    const first = call();
    await expect(call()).rejects.toBeInstanceOf(BulkheadFullError);
    release();
    await expect(first).resolves.toBe('done');
    const again = call();
    release();
    await expect(again).resolves.toBe('done');
  });
});

describe('withFallback', () => {
  const fails = (error: unknown) => Decorators.ofSupplier(async (): Promise<string> => Promise.reject(error));
  class Other extends Error {}

  it('by error classes: the handler gets the error and the signal', async () => {
    const open = new CallNotPermittedError('users', 'OPEN');
    const handler = vi.fn((e: CallNotPermittedError) => `cached (${e.circuitBreakerName})`);
    await expect(fails(open).withFallback([CallNotPermittedError], handler).get()).resolves.toBe(
      'cached (users)',
    );
    expect(handler).toHaveBeenCalledWith(open, NEVER_ABORTED);
    await expect(
      fails(new Other()).withFallback([CallNotPermittedError], handler).get(),
    ).rejects.toBeInstanceOf(Other);
  });

  it('by error predicate, and for every error with a handler alone', async () => {
    const isBoom = (e: unknown): e is Boom => e instanceof Boom;
    await expect(
      fails(new Boom('b'))
        .withFallback(isBoom, (e) => e.message)
        .get(),
    ).resolves.toBe('b');
    await expect(
      fails(new Other('o'))
        .withFallback(
          (e) => e instanceof Boom,
          () => 'x',
        )
        .get(),
    ).rejects.toBeInstanceOf(Other);
    await expect(
      fails(new Other('o'))
        .withFallback(() => 'any')
        .get(),
    ).resolves.toBe('any');
  });

  it('by result predicate (config form), and by a Fallback instance', async () => {
    const status = Decorators.ofSupplier(async () => ({ status: 503 }));
    const handler = vi.fn((r: { status: number }) => ({ status: r.status - 303 }));
    await expect(
      status.withFallback({ whenResult: (r) => r.status >= 500, fallback: handler }).get(),
    ).resolves.toEqual({ status: 200 });
    expect(handler).toHaveBeenCalledWith({ status: 503 }, NEVER_ABORTED);
    await expect(
      status.withFallback({ whenResult: (r) => r.status === 404, fallback: () => ({ status: 0 }) }).get(),
    ).resolves.toEqual({ status: 503 });
    // A predicate that throws means no match, as with Fallback.
    const broken = () => {
      throw new Error('bad predicate');
    };
    await expect(status.withFallback({ whenResult: broken, fallback: () => 'x' }).get()).resolves.toEqual({
      status: 503,
    });
    await expect(
      fails(new Boom('kept'))
        .withFallback(broken, () => 'x')
        .get(),
    ).rejects.toThrow('kept');
    const instance = Fallback.of({ on: [Boom], fallback: () => 'instance' });
    await expect(fails(new Boom()).withFallback(instance).get()).resolves.toBe('instance');
  });

  it('passes the caller abort through instead of falling back', async () => {
    const controller = new AbortController();
    const call = Decorators.ofSupplier(untilAborted)
      .withFallback(() => 'fb')
      .decorate();
    const result = call(controller.signal);
    controller.abort(new Other('gone'));
    await expect(result).rejects.toBeInstanceOf(Other);
  });
});

// ====================================================================== order

describe('the order is the order of the with* calls', () => {
  it('withCircuitBreaker(cb).withRetry(r) is Retry(CircuitBreaker(fn)): every attempt is recorded', async () => {
    const cb = counting();
    await expect(
      Decorators.ofSupplier(flaky(2)).withCircuitBreaker(cb).withRetry(quickRetry(3)).get(),
    ).resolves.toBe('ok');
    expect(await breakerCounts(cb)).toMatchObject({ failed: 2, ok: 1 });
  });

  it('withRetry(r).withCircuitBreaker(cb) is CircuitBreaker(Retry(fn)): one call is recorded', async () => {
    const cb = counting();
    await expect(
      Decorators.ofSupplier(flaky(2)).withRetry(quickRetry(3)).withCircuitBreaker(cb).get(),
    ).resolves.toBe('ok');
    expect(await breakerCounts(cb)).toMatchObject({ failed: 0, ok: 1 });
  });

  it('a fallback inside the breaker hides failures from it; outside, it does not', async () => {
    const inside = counting('inside');
    const outside = counting('outside');
    await Decorators.ofSupplier(flaky(9))
      .withFallback(() => 'fb')
      .withCircuitBreaker(inside)
      .get();
    await Decorators.ofSupplier(flaky(9))
      .withCircuitBreaker(outside)
      .withFallback(() => 'fb')
      .get();
    expect(await breakerCounts(inside)).toMatchObject({ failed: 0, ok: 1 });
    expect(await breakerCounts(outside)).toMatchObject({ failed: 1, ok: 0 });
  });

  it('a time limiter outside the retry bounds all attempts; inside, each attempt', async () => {
    const slowThenFast = () => {
      let n = 0;
      return (signal: AbortSignal) => (++n < 3 ? untilAborted(signal) : Promise.resolve('ok'));
    };
    const perAttempt = TimeLimiter.of('per-attempt', { timeoutDuration: 15 });
    await expect(
      Decorators.ofSupplier(slowThenFast()).withTimeLimiter(perAttempt).withRetry(quickRetry(3)).get(),
    ).resolves.toBe('ok');
    const overall = TimeLimiter.of('overall', { timeoutDuration: 15 });
    await expect(
      Decorators.ofSupplier(slowThenFast()).withRetry(quickRetry(3)).withTimeLimiter(overall).get(),
    ).rejects.toBeInstanceOf(TimeoutError);
  });
});

// ====================================================================== withCache

/** A cache as small as the contract: a Map, and the loader run on a miss with the call's signal. */
function mapCache<T>(): ReadThroughCache<T> & { readonly keys: string[]; readonly signals: AbortSignal[] } {
  const values = new Map<string, T>();
  const keys: string[] = [];
  const signals: AbortSignal[] = [];
  return {
    name: 'map',
    keys,
    signals,
    async get(key, loader, signal) {
      keys.push(key);
      if (values.has(key)) return values.get(key) as T;
      const value = await loader(signal ?? NEVER_ABORTED);
      signals.push(signal ?? NEVER_ABORTED);
      values.set(key, value);
      return value;
    },
  };
}

describe('withCache', () => {
  it('a function chain keys each call by its arguments and loads only on a miss', async () => {
    const cache = mapCache<string>();
    const find = vi.fn(async (id: string) => `user ${id}`);
    const getUser = Decorators.ofFunction(find)
      .withCache(cache, (id) => `user:${id}`)
      .decorate();
    await expect(getUser('1')).resolves.toBe('user 1');
    await expect(getUser('1')).resolves.toBe('user 1');
    await expect(getUser('2')).resolves.toBe('user 2');
    expect(find.mock.calls).toEqual([['1'], ['2']]);
    expect(cache.keys).toEqual(['user:1', 'user:1', 'user:2']);
  });

  it('layers after it run around the cache, layers before it only on a load', async () => {
    const cache = mapCache<string>();
    const fn = flaky(1);
    const cb = counting();
    const call = Decorators.ofSupplier(fn)
      .withCircuitBreaker(cb)
      .withCache(cache, 'k')
      .withRetry(quickRetry(2));
    await expect(call.get()).resolves.toBe('ok'); // the first load failed, the retry loaded again
    await expect(call.get()).resolves.toBe('ok'); // a hit: the breaker sees no call
    expect(fn).toHaveBeenCalledTimes(2);
    expect(await breakerCounts(cb)).toMatchObject({ failed: 1, ok: 1 });
  });

  it('hands the caller signal to the cache, which hands it to the loader', async () => {
    const cache = mapCache<number>();
    const controller = new AbortController();
    const call = Decorators.ofFunctionWithSignal((signal: AbortSignal, n: number) => {
      expect(signal).toBe(controller.signal);
      return n * 2;
    })
      .withCache(cache, (n) => String(n))
      .decorateWithSignal();
    await expect(call(controller.signal, 21)).resolves.toBe(42);
    expect(cache.signals).toEqual([controller.signal]);
  });

  it('a key function that throws rejects the call; bad arguments are refused at once', async () => {
    const cache = mapCache<number>();
    const call = Decorators.ofFunction((n: number) => n)
      .withCache(cache, () => {
        throw new Boom('no key');
      })
      .decorate();
    await expect(call(1)).rejects.toThrow('no key');
    expect(() => Decorators.ofSupplier(() => 1).withCache({} as never, 'k')).toThrow(
      /withCache: 'cache' must be a cache/,
    );
    expect(() => Decorators.ofSupplier(() => 1).withCache(cache, 7 as never)).toThrow(
      /'key' must be a string/,
    );
    expect(() => Decorators.ofFunction((n: number) => n).withCache(cache, 'k' as never)).toThrow(
      /'key' must be a function/,
    );
  });

  it('is typed by the chain: the cache must hold what the function returns', () => {
    const numbers = mapCache<number>();
    Decorators.ofFunction((n: number) => n).withCache(numbers, (n) => `${n}`);
    expectTypeOf(Decorators.ofSupplier(() => 1).withCache)
      .parameter(1)
      .toEqualTypeOf<string>();
    expectTypeOf(Decorators.ofFunction((_a: string, _b: number) => 1).withCache)
      .parameter(1)
      .toEqualTypeOf<(a: string, b: number) => string>();
  });
});

// ====================================================================== ofFunction

describe('Decorators.ofFunction', () => {
  it('passes the arguments through, on every attempt', async () => {
    const add = vi.fn(async (a: number, b: number) => {
      if (add.mock.calls.length === 1) throw new Boom();
      return a + b;
    });
    const decorated = Decorators.ofFunction(add)
      .withCircuitBreaker(counting())
      .withRetry(quickRetry())
      .decorate();
    await expect(decorated(2, 3)).resolves.toBe(5);
    expect(add.mock.calls).toEqual([
      [2, 3],
      [2, 3],
    ]);
    // Concurrent calls keep their own arguments.
    const echo = Decorators.ofFunction(async (x: string) => x)
      .withBulkhead(Bulkhead.of('b'))
      .decorate();
    await expect(Promise.all([echo('a'), echo('b'), echo('c')])).resolves.toEqual(['a', 'b', 'c']);
  });

  it('with no layers, still returns a promise and never throws synchronously', async () => {
    await expect(Decorators.ofFunction((x: number) => x * 2).decorate()(4)).resolves.toBe(8);
    const throws = Decorators.ofFunction((_x: number): number => {
      throw new Boom();
    }).decorate();
    await expect(throws(1)).rejects.toBeInstanceOf(Boom);
  });

  it('decorateWithSignal takes the caller signal first; an abort rejects at once', async () => {
    const tl = TimeLimiter.of('tl', { timeoutDuration: 10_000 });
    const seen: AbortSignal[] = [];
    const slow = Decorators.ofFunctionWithSignal((signal, id: string) => {
      seen.push(signal);
      return untilAborted(signal).then(() => id);
    })
      .withTimeLimiter(tl)
      .withCircuitBreaker(counting())
      .decorateWithSignal();
    const controller = new AbortController();
    const result = slow(controller.signal, 'x');
    const reason = new Boom('caller gave up');
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    // The function got the time limiter's signal, which followed the caller's abort.
    expect(seen[0]).not.toBe(controller.signal);
    expect(seen[0].aborted).toBe(true);
    expect(seen[0].reason).toBe(reason);
  });

  it('ofFunction does not hand the signal to the function; ofFunctionWithSignal does', async () => {
    const plain = vi.fn((...args: unknown[]) => args.length);
    const controller = new AbortController();
    await expect(
      Decorators.ofFunction(plain).decorateWithSignal()(controller.signal, 'a', 'b'),
    ).resolves.toBe(2);
    const withSignal = Decorators.ofFunctionWithSignal(
      (signal, a: string) => [signal, a] as const,
    ).decorate();
    await expect(withSignal('a')).resolves.toEqual([NEVER_ABORTED, 'a']);
  });

  it('a fallback in a function chain gets the call arguments after the signal', async () => {
    const cache = new Map([['u1', 'Kim (cached)']]);
    const handler = vi.fn((error: Boom, signal: AbortSignal, id: string, _fresh: boolean) => {
      expectTypeOf(error).toEqualTypeOf<Boom>();
      expect(signal).toBe(NEVER_ABORTED);
      return cache.get(id) ?? 'anonymous';
    });
    const getName = Decorators.ofFunction(async (id: string, _fresh: boolean): Promise<string> => {
      throw new Boom(id);
    })
      .withRetry(quickRetry(2))
      .withFallback([Boom], handler)
      .decorate();
    await expect(getName('u1', true)).resolves.toBe('Kim (cached)');
    await expect(getName('u2', false)).resolves.toBe('anonymous');
    expect(handler.mock.calls.map((c) => c.slice(2))).toEqual([
      ['u1', true],
      ['u2', false],
    ]);

    const price = Decorators.ofFunctionWithSignal(async (_signal, sku: string) => (sku === 'gone' ? -1 : 10))
      .withFallback({
        whenResult: (p) => p < 0,
        fallback: (p, _signal, sku) => {
          expectTypeOf(sku).toEqualTypeOf<string>();
          return `${sku} unavailable (${p})`;
        },
      })
      .decorate();
    await expect(price('a')).resolves.toBe(10);
    await expect(price('gone')).resolves.toBe('gone unavailable (-1)');

    const instance = Decorators.ofFunction(async (_x: number): Promise<number> => {
      throw new Boom();
    })
      .withFallback(Fallback.of({ on: [Boom], fallback: (...seen: unknown[]) => seen.length }))
      .decorate();
    await expect(instance(1)).resolves.toBe(2);
  });

  it('a time limit reaches an ofFunctionWithSignal function and rejects with TimeoutError', async () => {
    const tl = TimeLimiter.of('tl', { timeoutDuration: 15 });
    let seen: AbortSignal | undefined;
    const fetchUser = Decorators.ofFunctionWithSignal((signal, _id: number) => {
      seen = signal;
      return untilAborted(signal);
    })
      .withTimeLimiter(tl)
      .decorate();
    await expect(fetchUser(1)).rejects.toBeInstanceOf(TimeoutError);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
  });
});

// ====================================================================== the signal

describe('the caller signal reaches every layer', () => {
  it('each policy receives the signal its outer layer gave, and the function the innermost', async () => {
    const cb = counting();
    const retry = quickRetry();
    const bh = Bulkhead.of('bh');
    const fb = Fallback.of({ on: [Boom], fallback: () => 'fb' });
    const received = new Map<string, AbortSignal | undefined>();
    for (const [name, policy] of [
      ['cb', cb],
      ['retry', retry],
      ['bh', bh],
      ['fb', fb],
    ] as const) {
      const original = policy.execute.bind(policy) as (fn: unknown, s?: AbortSignal) => Promise<unknown>;
      vi.spyOn(policy, 'execute').mockImplementation(((fn: unknown, s?: AbortSignal) => {
        received.set(name, s);
        return original(fn, s);
      }) as never);
    }
    let fnSignal: AbortSignal | undefined;
    const call = Decorators.ofSupplier((s) => {
      fnSignal = s;
      return 'v';
    })
      .withBulkhead(bh)
      .withCircuitBreaker(cb)
      .withFallback(fb)
      .withRetry(retry)
      .decorate();

    await call();
    // No caller signal: the outermost gets undefined (every policy's fast path), the rest NEVER_ABORTED.
    expect([...received]).toEqual([
      ['retry', undefined],
      ['fb', NEVER_ABORTED],
      ['cb', NEVER_ABORTED],
      ['bh', NEVER_ABORTED],
    ]);
    expect(fnSignal).toBe(NEVER_ABORTED);

    received.clear();
    const controller = new AbortController();
    await call(controller.signal);
    expect([...received.values()]).toEqual([
      controller.signal,
      controller.signal,
      controller.signal,
      controller.signal,
    ]);
    expect(fnSignal).toBe(controller.signal);
  });

  it('a caller abort rejects at once with its reason, and the breaker does not record the abandoned call', async () => {
    const cb = counting();
    const fn = vi.fn(untilAborted);
    const call = Decorators.ofSupplier(fn).withCircuitBreaker(cb).withRetry(quickRetry()).decorate();
    const controller = new AbortController();
    const result = call(controller.signal);
    const reason = new Error('navigated away');
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    // An already aborted signal never reaches the function.
    await expect(call(controller.signal)).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

// ====================================================================== the recommended order, end to end

describe('Retry(CircuitBreaker(RateLimiter(TimeLimiter(Bulkhead(fn))))) with real policies', () => {
  function recommended(
    fn: (signal: AbortSignal) => Promise<string>,
    opts: {
      cb?: CircuitBreakerConfig;
      maxAttempts?: number;
      timeoutMs?: number;
      maxConcurrent?: number;
    } = {},
  ) {
    const cb = CircuitBreaker.of('cb', opts.cb ?? COUNTING);
    const retry = quickRetry(opts.maxAttempts ?? 3);
    const rl = roomyLimiter();
    const tl = TimeLimiter.of('tl', { timeoutDuration: opts.timeoutMs ?? 1000 });
    const bh = Bulkhead.of('bh', { maxConcurrentCalls: opts.maxConcurrent ?? 10 });
    const call = Decorators.ofSupplier(fn)
      .withBulkhead(bh)
      .withTimeLimiter(tl)
      .withRateLimiter(rl)
      .withCircuitBreaker(cb)
      .withRetry(retry)
      .decorate();
    return { call, cb, rl, tl, bh, retry };
  }

  it('each retry attempt re-enters the breaker and takes a permit of the rate limiter', async () => {
    const fn = flaky(2);
    const { call, cb, rl, bh } = recommended(fn);
    await expect(call()).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
    expect(await breakerCounts(cb)).toMatchObject({ failed: 2, ok: 1 });
    expect((await rl.getMetrics()).availablePermissions).toBe(997);
    expect((await bh.getMetrics()).availableConcurrentCalls).toBe(10);
  });

  it('a breaker that opens during the retries stops them with CallNotPermittedError (a fallback can catch it)', async () => {
    const fn = flaky(99);
    const { call, cb } = recommended(fn, {
      cb: { slidingWindowSize: 2, minimumNumberOfCalls: 2, failureRateThreshold: 50 },
      maxAttempts: 4,
    });
    await expect(call()).rejects.toBeInstanceOf(CallNotPermittedError);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(await cb.getState()).toBe('OPEN');
    const withCache = Decorators.ofSupplier(fn)
      .withCircuitBreaker(cb)
      .withRetry(quickRetry())
      .withFallback([CallNotPermittedError], () => 'cached')
      .decorate();
    await expect(withCache()).resolves.toBe('cached');
  });

  it('a time-limit abort reaches the function; the breaker records the TimeoutError as a failure', async () => {
    const seen: AbortSignal[] = [];
    const { call, cb, bh } = recommended(
      (signal) => {
        seen.push(signal);
        return untilAborted(signal);
      },
      { timeoutMs: 15, maxAttempts: 2 },
    );
    await expect(call()).rejects.toBeInstanceOf(TimeoutError);
    expect(seen).toHaveLength(2);
    for (const s of seen) expect(s.reason).toBeInstanceOf(TimeoutError);
    expect(await breakerCounts(cb)).toMatchObject({ failed: 2, ok: 0 });
    // The function honoured the abort, so its bulkhead slot is free again.
    expect((await bh.getMetrics()).availableConcurrentCalls).toBe(10);
  });

  it('a bulkhead rejection never reached the downstream: the breaker ignores it, by default and when told to', async () => {
    const gate = { open: () => {} };
    const slow = () => new Promise<string>((r) => (gate.open = () => r('done')));
    const byDefault = recommended(slow, { maxConcurrent: 1, maxAttempts: 1 });
    const first = byDefault.call();
    await expect(byDefault.call()).rejects.toBeInstanceOf(BulkheadFullError);
    gate.open();
    await first;
    expect(await breakerCounts(byDefault.cb)).toMatchObject({ failed: 0, ok: 1 });

    const ignoring = recommended(slow, {
      cb: { ...COUNTING, ignoreExceptions: [BulkheadFullError, RequestNotPermittedError] },
      maxConcurrent: 1,
      maxAttempts: 1,
    });
    const held = ignoring.call();
    await expect(ignoring.call()).rejects.toBeInstanceOf(BulkheadFullError);
    gate.open();
    await held;
    const m = await ignoring.cb.getMetrics();
    expect(m.numberOfBufferedCalls).toBe(1);
    expect(m.numberOfFailedCalls).toBe(0);
  });

  it('a rate-limit rejection reaches the caller at once, recorded only if the breaker does not ignore it', async () => {
    const rl = RateLimiter.of('tight', { limitForPeriod: 1, limitRefreshPeriod: 60_000, timeoutDuration: 0 });
    const cb = CircuitBreaker.of('cb', { ...COUNTING, ignoreExceptions: [RequestNotPermittedError] });
    const fn = vi.fn(async () => 'v');
    const call = Decorators.ofSupplier(fn)
      .withBulkhead(Bulkhead.of('bh'))
      .withTimeLimiter(TimeLimiter.of('tl'))
      .withRateLimiter(rl)
      .withCircuitBreaker(cb)
      .withRetry(
        Retry.of('r', { maxAttempts: 3, waitDuration: 0, ignoreExceptions: [RequestNotPermittedError] }),
      )
      .decorate();
    await call();
    await expect(call()).rejects.toBeInstanceOf(RequestNotPermittedError);
    expect(fn).toHaveBeenCalledTimes(1);
    const m = await cb.getMetrics();
    expect(m.numberOfBufferedCalls).toBe(1);
    expect(m.numberOfSuccessfulCalls).toBe(1);
  });
});

// ====================================================================== properties

type Kind = 'cb' | 'retry' | 'rl' | 'tl' | 'bh' | 'fb';
const KINDS: readonly Kind[] = ['cb', 'retry', 'rl', 'tl', 'bh', 'fb'];

interface Policy {
  execute(fn: (signal: AbortSignal) => unknown, signal?: AbortSignal): Promise<unknown>;
}

describe('properties of the chain', () => {
  it('layers nest in the order of the with* calls, and each receives the signal of the layer outside it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...KINDS), { maxLength: 8 }),
        fc.boolean(),
        async (kinds, withCallerSignal) => {
          const log: string[] = [];
          const received: (AbortSignal | undefined)[] = [];
          const handedDown: AbortSignal[] = [];
          let fnSignal: AbortSignal | undefined;
          let builder: SupplierDecorator<unknown> = Decorators.ofSupplier((signal) => {
            log.push('fn');
            fnSignal = signal;
            return 'v';
          });
          kinds.forEach((kind, i) => {
            const policy = makePolicy(kind, i);
            const original = policy.execute.bind(policy) as Policy['execute'];
            vi.spyOn(policy as Policy, 'execute').mockImplementation((fn, s) => {
              log.push(`enter ${i}`);
              received[i] = s;
              return original((inner) => {
                handedDown[i] = inner;
                return fn(inner);
              }, s).finally(() => log.push(`exit ${i}`));
            });
            builder = addLayer(builder, kind, policy);
          });
          const caller = withCallerSignal ? new AbortController().signal : undefined;
          await expect(builder.decorate()(caller)).resolves.toBe('v');

          const n = kinds.length;
          const indices = [...Array(n).keys()];
          expect(log).toEqual([
            ...indices.map((i) => `enter ${n - 1 - i}`),
            'fn',
            ...indices.map((i) => `exit ${i}`),
          ]);
          // The outermost layer gets the caller's signal (undefined when none); each layer inside
          // gets what the layer outside handed down; that is the caller's (or NEVER_ABORTED) except
          // below a time limiter, which hands down its own.
          let expected: AbortSignal | undefined = caller;
          for (let i = n - 1; i >= 0; i--) {
            expect(received[i]).toBe(expected);
            const down = handedDown[i];
            if (kinds[i] === 'tl') {
              expect(down).not.toBe(NEVER_ABORTED);
              expect(down).not.toBe(caller);
            } else {
              expect(down).toBe(expected ?? NEVER_ABORTED);
            }
            expected = down;
          }
          expect(fnSignal).toBe(n === 0 ? (caller ?? NEVER_ABORTED) : expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('what each breaker records and what the caller gets follow the nesting the builder says', async () => {
    // A model of the chain run inside out, synchronously: retry calls again, fallback replaces a
    // failure, a breaker counts the outcomes it sees; the other policies pass everything through.
    type Outcome = { ok: true; value: string } | { ok: false };
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.constantFrom<Kind>('cb', 'fb', 'rl', 'tl', 'bh'),
            fc.integer({ min: 1, max: 3 }).map((k) => `retry${k}` as const),
          ),
          { maxLength: 6 },
        ),
        fc.nat({ max: 6 }),
        async (layers, failures) => {
          // The model.
          let modelCalls = 0;
          const modelCounts = layers.map(() => ({ ok: 0, failed: 0 }));
          let run = (): Outcome => (++modelCalls <= failures ? { ok: false } : { ok: true, value: 'ok' });
          layers.forEach((layer, i) => {
            const inner = run;
            if (layer === 'cb') {
              run = () => {
                const o = inner();
                if (o.ok) modelCounts[i].ok++;
                else modelCounts[i].failed++;
                return o;
              };
            } else if (layer === 'fb') {
              run = () => {
                const o = inner();
                return o.ok ? o : { ok: true, value: 'fb' };
              };
            } else if (layer.startsWith('retry')) {
              const k = Number(layer.slice(5));
              run = () => {
                let o = inner();
                for (let a = 1; a < k && !o.ok; a++) o = inner();
                return o;
              };
            }
          });
          const expected = run();

          // The real chain.
          const fn = flaky(failures);
          let builder: SupplierDecorator<unknown> = Decorators.ofSupplier(fn);
          const breakers: (CircuitBreaker | undefined)[] = [];
          layers.forEach((layer, i) => {
            if (layer.startsWith('retry')) {
              builder = builder.withRetry(quickRetry(Number(layer.slice(5)), `r${i}`));
              return;
            }
            const policy = makePolicy(layer as Kind, i);
            if (layer === 'cb') breakers[i] = policy as CircuitBreaker;
            builder = addLayer(builder, layer as Kind, policy);
          });
          const actual = await builder.get().then(
            (value): Outcome => ({ ok: true, value: value as string }),
            (): Outcome => ({ ok: false }),
          );

          expect(actual).toEqual(expected);
          expect(fn).toHaveBeenCalledTimes(modelCalls);
          for (let i = 0; i < layers.length; i++) {
            const cb = breakers[i];
            if (cb === undefined) continue;
            const counts = await breakerCounts(cb);
            expect({ ok: counts.ok, failed: counts.failed }).toEqual(modelCounts[i]);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

function makePolicy(
  kind: Kind,
  i: number,
): CircuitBreaker | Retry | RateLimiter | TimeLimiter | Bulkhead | Fallback<string> {
  switch (kind) {
    case 'cb':
      return counting(`cb${i}`);
    case 'retry':
      return quickRetry(2, `r${i}`);
    case 'rl':
      return roomyLimiter(`rl${i}`);
    case 'tl':
      return TimeLimiter.of(`tl${i}`, { timeoutDuration: 5_000 });
    case 'bh':
      return Bulkhead.of(`bh${i}`, { maxConcurrentCalls: 5 });
    case 'fb':
      return Fallback.of({ on: [Boom], fallback: () => 'fb' });
  }
}

function addLayer(
  builder: SupplierDecorator<unknown>,
  kind: Kind,
  policy: unknown,
): SupplierDecorator<unknown> {
  switch (kind) {
    case 'cb':
      return builder.withCircuitBreaker(policy as CircuitBreaker);
    case 'retry':
      return builder.withRetry(policy as Retry);
    case 'rl':
      return builder.withRateLimiter(policy as RateLimiter);
    case 'tl':
      return builder.withTimeLimiter(policy as TimeLimiter);
    case 'bh':
      return builder.withBulkhead(policy as Bulkhead);
    case 'fb':
      return builder.withFallback(policy as Fallback<string>);
  }
}

// ====================================================================== types

describe('types flow through the chain', () => {
  it('a decorated supplier returns a promise of the supplier result, joined by fallbacks', () => {
    const call = Decorators.ofSupplier(async () => 42)
      .withCircuitBreaker(counting())
      .withRetry(quickRetry())
      .decorate();
    expectTypeOf(call).toEqualTypeOf<DecoratedSupplier<number>>();
    expectTypeOf(call).parameters.toEqualTypeOf<[signal?: AbortSignal]>();
    expectTypeOf(call).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(call).toExtend<() => Promise<number>>();

    const sync = Decorators.ofSupplier(() => 'x').get();
    expectTypeOf(sync).toEqualTypeOf<Promise<string>>();

    const cached = Decorators.ofSupplier(async () => ({ price: 1 }))
      .withCircuitBreaker(counting())
      .withFallback([CallNotPermittedError], (error) => {
        expectTypeOf(error).toEqualTypeOf<CallNotPermittedError>();
        return Promise.resolve('cached' as const);
      })
      .decorate();
    expectTypeOf(cached).returns.toEqualTypeOf<Promise<{ price: number } | 'cached'>>();

    const guarded = Decorators.ofSupplier(async () => 1).withFallback(
      (e): e is TimeoutError => e instanceof TimeoutError,
      (error) => {
        expectTypeOf(error).toEqualTypeOf<TimeoutError>();
        return null;
      },
    );
    expectTypeOf(guarded.get()).toEqualTypeOf<Promise<number | null>>();

    const byResult = Decorators.ofSupplier(async () => ({ status: 200 })).withFallback({
      whenResult: (result) => {
        expectTypeOf(result).toEqualTypeOf<{ status: number }>();
        return result.status >= 500;
      },
      fallback: () => 'degraded' as const,
    });
    expectTypeOf(byResult.get()).toEqualTypeOf<Promise<{ status: number } | 'degraded'>>();

    const any = Decorators.ofSupplier(async () => 1).withFallback(() => 'fb');
    expectTypeOf(any.get()).toEqualTypeOf<Promise<number | string>>();

    const instance = Decorators.ofSupplier(async () => 1).withFallback(
      Fallback.of({ on: [Boom], fallback: () => false }),
    );
    expectTypeOf(instance.get()).toEqualTypeOf<Promise<number | boolean>>();
    // A result fallback for another result type does not fit.
    const forStrings = Fallback.of({ whenResult: (s: string) => s === '', fallback: () => 'empty' });
    // @ts-expect-error: the chain yields numbers, the fallback inspects strings
    Decorators.ofSupplier(async () => 1).withFallback(forStrings);
  });

  it('a decorated function keeps the parameter list (names included) and the awaited return type', () => {
    const find = Decorators.ofFunction(async (id: number, opts?: { fresh: boolean }) => ({ id, opts }))
      .withRetry(quickRetry())
      .withBulkhead(Bulkhead.of('b'));
    const decorated = find.decorate();
    expectTypeOf(decorated).parameters.toEqualTypeOf<[id: number, opts?: { fresh: boolean }]>();
    expectTypeOf(decorated).returns.toEqualTypeOf<
      Promise<{ id: number; opts: { fresh: boolean } | undefined }>
    >();
    expectTypeOf(find.decorateWithSignal()).parameters.toEqualTypeOf<
      [signal: AbortSignal | undefined, id: number, opts?: { fresh: boolean }]
    >();
    // @ts-expect-error: the first parameter is a number
    decorated('1');

    const syncFn = Decorators.ofFunction((a: string, b: number) => a.repeat(b))
      .withFallback(() => 0)
      .decorate();
    expectTypeOf(syncFn).toEqualTypeOf<(a: string, b: number) => Promise<string | number>>();

    const withSignal = Decorators.ofFunctionWithSignal((signal, url: string) => {
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
      return Promise.resolve(url.length);
    }).decorate();
    expectTypeOf(withSignal).toEqualTypeOf<(url: string) => Promise<number>>();
  });
});

describe('time, driven by hand', () => {
  it('a breaker with a manual clock in the chain reopens to probes after its wait', async () => {
    const clock = new ManualClock(1_000);
    const cb = CircuitBreaker.of(
      'manual',
      { slidingWindowSize: 2, minimumNumberOfCalls: 2, waitDurationInOpenState: 1_000 },
      { clock },
    );
    const fn = flaky(2);
    const call = Decorators.ofSupplier(fn)
      .withCircuitBreaker(cb)
      .withFallback([CallNotPermittedError], () => 'cached')
      .decorate();
    await expect(call()).rejects.toBeInstanceOf(Boom);
    await expect(call()).rejects.toBeInstanceOf(Boom);
    await expect(call()).resolves.toBe('cached');
    clock.advance(1_000);
    await expect(call()).resolves.toBe('ok');
    expect(await cb.getState()).toBe('HALF_OPEN');
  });
});
