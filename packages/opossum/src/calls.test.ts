/**
 * Calls, as opossum documents them: `fire` and `call`, what actions may be, the `fire`, `success`
 * and `failure` events with their arguments, `fallback`, `errorFilter`, and the breaker's own
 * errors (`isOurError`, the error codes).
 */
import { describe, expect, it } from 'vitest';
import CircuitBreaker from './index.js';
import { breaker, DownstreamError, double, fireMany, namesOf, record } from './opossum.test-support.js';

describe('fire and call', () => {
  it('fire passes its arguments to the action and resolves with its result', async () => {
    const seen: unknown[][] = [];
    const b = breaker(async (a: number, s: string) => {
      seen.push([a, s]);
      return `${s}${a}`;
    });
    await expect(b.fire(1, 'x')).resolves.toBe('x1');
    expect(seen).toEqual([[1, 'x']]);
  });

  it("fire runs the action with the action as `this`, call with the context given (opossum's rules)", async () => {
    const thisSeen: unknown[] = [];
    function action(this: unknown, x: number) {
      thisSeen.push(this);
      return Promise.resolve(x);
    }
    const b = breaker(action);
    const context = { tag: 'ctx' };
    await b.fire(1);
    await b.call(context, 2);
    expect(thisSeen).toEqual([action, context]);
  });

  it('an action may return a plain value or throw synchronously', async () => {
    const plain = breaker((x: number) => x + 1);
    await expect(plain.fire(1)).resolves.toBe(2);
    const throwing = breaker((): number => {
      throw new DownstreamError('sync');
    });
    const events = record(throwing, ['failure']);
    await expect(throwing.fire()).rejects.toThrow('sync');
    expect(namesOf(events)).toEqual(['failure']);
  });

  it('an action that is not a function is the value every call resolves to', async () => {
    const b = new CircuitBreaker('foo' as unknown as () => Promise<string>);
    await expect(b.fire()).resolves.toBe('foo');
    b.shutdown();
  });

  it('refuses to be built without an action', () => {
    expect(() => new CircuitBreaker(undefined as unknown as () => Promise<void>)).toThrow(TypeError);
    expect(() => new CircuitBreaker(undefined as unknown as () => Promise<void>)).toThrow(
      /No action provided/,
    );
  });

  it('names the breaker after the action, or a UUID; group defaults to the name', () => {
    expect(breaker(double).name).toBe('double');
    expect(breaker(double, { name: 'payments', group: 'api' })).toMatchObject({
      name: 'payments',
      group: 'api',
    });
    expect(breaker(double, { name: 'payments' }).group).toBe('payments');
    expect(breaker(() => Promise.resolve(1)).name).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('call events', () => {
  it('fire (with the arguments), success (with the result and the latency)', async () => {
    const b = breaker(double);
    const events = record(b);
    await b.fire(21);
    expect(events).toEqual([
      { name: 'fire', args: [[21]] },
      { name: 'success', args: [42, expect.any(Number)] },
    ]);
    expect(events[1].args[1]).toBeGreaterThanOrEqual(0);
  });

  it('failure (with the error, the latency and the arguments)', async () => {
    const b = breaker(double, { volumeThreshold: 10 });
    const events = record(b);
    const error = await b.fire(-3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownstreamError);
    expect(events).toEqual([
      { name: 'fire', args: [[-3]] },
      { name: 'failure', args: [error, expect.any(Number), [-3]] },
    ]);
  });

  it('a failure that opens the breaker: failure, then open, then fallback', async () => {
    const b = breaker(double).fallback(() => 'cached');
    const events = record(b);
    await expect(b.fire(-1)).resolves.toBe('cached');
    expect(namesOf(events)).toEqual(['fire', 'failure', 'open', 'fallback']);
    expect(b.opened).toBe(true);
  });
});

describe('listeners added and removed every way', () => {
  it('fire and success reach listeners added with on, once, addListener, prepend*, and stop when removed', async () => {
    const b = breaker(double);
    const seen: string[] = [];
    const onFire = () => seen.push('on fire');
    b.on('fire', onFire);
    b.once('success', () => seen.push('once success'));
    b.addListener('success', () => seen.push('addListener success'));
    b.prependListener('fire', () => seen.push('prepend fire'));
    b.prependOnceListener('fire', () => seen.push('prependOnce fire'));
    await b.fire(1);
    expect(seen.splice(0)).toEqual([
      'prependOnce fire',
      'prepend fire',
      'on fire',
      'once success',
      'addListener success',
    ]);
    await b.fire(1);
    expect(seen.splice(0)).toEqual(['prepend fire', 'on fire', 'addListener success']);
    b.off('fire', onFire);
    b.removeAllListeners('success');
    await b.fire(1);
    expect(seen.splice(0)).toEqual(['prepend fire']);
    b.removeAllListeners();
    await b.fire(1);
    expect(seen).toEqual([]);
    b.on('success', () => seen.push('again'));
    await b.fire(1);
    expect(seen).toEqual(['again']);
  });
});

describe('fallback', () => {
  it('runs on failure with the arguments and the error, as `this` the fallback; fire resolves with its result', async () => {
    const b = breaker(double);
    const calls: { args: unknown[]; self: unknown }[] = [];
    function fallback(this: unknown, ...args: unknown[]) {
      calls.push({ args, self: this });
      return 'fallback value';
    }
    expect(b.fallback(fallback)).toBe(b);
    const events = record(b, ['fallback']);
    await expect(b.fire(-2)).resolves.toBe('fallback value');
    expect(calls).toEqual([{ args: [-2, expect.any(DownstreamError)], self: fallback }]);
    expect(events).toEqual([{ name: 'fallback', args: ['fallback value', expect.any(DownstreamError)] }]);
  });

  it('may return a promise; its rejection (or a throw) is what fire rejects with', async () => {
    const b = breaker(double, { volumeThreshold: 100 });
    b.fallback(async (x: number) => `later ${x}`);
    await expect(b.fire(-1)).resolves.toBe('later -1');
    b.fallback(() => Promise.reject(new Error('fallback down')));
    await expect(b.fire(-1)).rejects.toThrow('fallback down');
    b.fallback(() => {
      throw new Error('fallback threw');
    });
    const events = record(b, ['fallback']);
    await expect(b.fire(-1)).rejects.toThrow('fallback threw');
    expect(events).toEqual([]);
  });

  it('runs for calls the open breaker refuses, with the EOPENBREAKER error', async () => {
    const b = breaker(double);
    b.open();
    const seen: unknown[] = [];
    b.fallback((...args: unknown[]) => {
      seen.push(args);
      return 'while open';
    });
    await expect(b.fire(5)).resolves.toBe('while open');
    expect(seen).toEqual([[5, expect.objectContaining({ code: 'EOPENBREAKER' })]]);
  });

  it('may be another breaker: its fire gets the arguments and the error', async () => {
    const secondary = breaker(async (x: number, e: unknown) => `secondary ${x} ${(e as Error).message}`);
    const primary = breaker(double).fallback(secondary);
    await expect(primary.fire(-4)).resolves.toBe('secondary -4 negative: -4');
    expect(secondary.stats.fires).toBe(1);
  });

  it('counts fallbacks in stats', async () => {
    const b = breaker(double, { volumeThreshold: 100 }).fallback(() => 0);
    await fireMany(b, 3, -1);
    expect(b.stats).toMatchObject({ fires: 3, failures: 3, fallbacks: 3 });
  });
});

describe('errorFilter', () => {
  it('a filtered error: success (with the error), no fallback, the call still rejects with it', async () => {
    const filterCalls: unknown[][] = [];
    const b = breaker(double, {
      errorFilter: (err: DownstreamError, ...args: [number]) => {
        filterCalls.push([err.statusCode, ...args]);
        return err.statusCode === 404;
      },
    });
    b.fallback(() => 'fallback');
    const events = record(b, ['success', 'failure', 'fallback']);
    const error = await b.fire(-404).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownstreamError);
    expect(events).toEqual([{ name: 'success', args: [error, expect.any(Number)] }]);
    expect(filterCalls).toEqual([[404, -404]]);
    expect(b.stats).toMatchObject({ successes: 1, failures: 0, fallbacks: 0 });
  });

  it('filtered errors never open the breaker; the others do', async () => {
    const b = breaker(double, { errorFilter: (err: DownstreamError) => err.statusCode === 404 });
    expect(await fireMany(b, 20, -404)).toEqual(Array(20).fill('DownstreamError'));
    expect(b.closed).toBe(true);
    await fireMany(b, 1, 1); // 21 successes
    // 22 failures of 43 calls: 51% > 50%.
    const out = await fireMany(b, 22, -500);
    expect(b.opened).toBe(true);
    expect(out.at(-1)).toBe('DownstreamError');
  });

  it('a filter that throws excuses nothing', async () => {
    const b = breaker(double, {
      errorFilter: () => {
        throw new Error('bad filter');
      },
    });
    await expect(b.fire(-1)).rejects.toBeInstanceOf(DownstreamError);
    expect(b.opened).toBe(true);
  });
});

describe("the breaker's own errors", () => {
  it('EOPENBREAKER: "Breaker is open", with the Breakwater refusal as cause', async () => {
    const b = breaker(double);
    b.open();
    const error = (await b.fire(1).catch((e: unknown) => e)) as Error & { code: string; cause: unknown };
    expect(error).toMatchObject({ code: 'EOPENBREAKER', message: 'Breaker is open' });
    expect(error.cause).toMatchObject({ name: 'CallNotPermittedError', state: 'OPEN' });
    expect(CircuitBreaker.isOurError(error)).toBe(true);
  });

  it('ESHUTDOWN after shutdown, without a fire event', async () => {
    const b = breaker(double);
    b.shutdown();
    const error = (await b.fire(1).catch((e: unknown) => e)) as Error & { code: string };
    expect(error).toMatchObject({ code: 'ESHUTDOWN', message: 'The circuit has been shutdown.' });
    expect(CircuitBreaker.isOurError(error)).toBe(true);
  });

  it("isOurError is false for the action's errors and for non-errors", async () => {
    const b = breaker(double, { volumeThreshold: 100 });
    const error = await b.fire(-1).catch((e: unknown) => e);
    expect(CircuitBreaker.isOurError(error as Error)).toBe(false);
    expect(CircuitBreaker.isOurError(new Error('x'))).toBe(false);
    expect(CircuitBreaker.isOurError(undefined as unknown as Error)).toBe(false);
  });

  it("keeps opossum's error shape: a plain Error name, a code, a message", async () => {
    const b = breaker(double);
    b.open();
    const error = (await b.fire(1).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('Error');
    expect(String(error)).toBe('Error: Breaker is open');
  });
});
