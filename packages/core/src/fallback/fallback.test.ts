import fc from 'fast-check';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { CallNotPermittedError, ConfigError, TimeoutError } from '../common/errors.js';
import { NEVER_ABORTED } from '../common/signal.js';
import { Fallback } from './fallback.js';

class AError extends Error {}
class BError extends Error {}
class SubAError extends AError {}
class OtherError extends Error {}

const fail = (error: unknown) => async (): Promise<string> => {
  throw error;
};

describe('Fallback by error classes', () => {
  it('substitutes the fallback for a matching error and hands it the error', async () => {
    const fallback = vi.fn((error: CallNotPermittedError) => `cached (${error.circuitBreakerName})`);
    const f = Fallback.of({ on: [CallNotPermittedError], fallback });
    const open = new CallNotPermittedError('users', 'OPEN');
    await expect(f.execute(fail(open))).resolves.toBe('cached (users)');
    expect(fallback).toHaveBeenCalledWith(open, NEVER_ABORTED);
  });

  it('matches subclasses and any of several classes', async () => {
    const f = Fallback.of({ on: [AError, BError], fallback: () => 'fb' });
    await expect(f.execute(fail(new SubAError()))).resolves.toBe('fb');
    await expect(f.execute(fail(new BError()))).resolves.toBe('fb');
    await expect(f.execute(fail(new OtherError('o')))).rejects.toBeInstanceOf(OtherError);
  });

  it('accepts a predicate for on', async () => {
    const f = Fallback.of({ on: (e) => e instanceof TimeoutError, fallback: () => 0 });
    await expect(f.execute(fail(new TimeoutError('t', 5)))).resolves.toBe(0);
    await expect(f.execute(fail(new Error('x')))).rejects.toThrow('x');
  });

  it('passes values through untouched', async () => {
    const fallback = vi.fn(() => 'fb');
    const f = Fallback.of({ on: [Error], fallback });
    await expect(f.execute(async () => 'real')).resolves.toBe('real');
    expect(fallback).not.toHaveBeenCalled();
  });

  it('catches a synchronous throw too', async () => {
    const f = Fallback.of({ on: [AError], fallback: () => 'fb' });
    await expect(
      f.execute(() => {
        throw new AError();
      }),
    ).resolves.toBe('fb');
  });
});

describe('Fallback by error predicate', () => {
  it('falls back when the predicate says so, narrowing with a type guard', async () => {
    const isTimeout = (e: unknown): e is TimeoutError => e instanceof TimeoutError;
    const f = Fallback.of({
      when: isTimeout,
      fallback: (error) => {
        expectTypeOf(error).toEqualTypeOf<TimeoutError>();
        return error.timeoutMs;
      },
    });
    await expect(f.execute(fail(new TimeoutError('t', 250)))).resolves.toBe(250);
    await expect(f.execute(fail(new Error('no')))).rejects.toThrow('no');
  });

  it('keeps the original error when the predicate throws', async () => {
    const original = new Error('original');
    const f = Fallback.of({
      when: () => {
        throw new Error('predicate bug');
      },
      fallback: () => 'fb',
    });
    await expect(f.execute(fail(original))).rejects.toBe(original);
  });

  it("rejects with the fallback's own error when it fails", async () => {
    const second = new Error('fallback failed too');
    const f = Fallback.of({
      when: () => true,
      fallback: async () => {
        throw second;
      },
    });
    await expect(f.execute(fail(new Error('first')))).rejects.toBe(second);
  });
});

describe('Fallback by result predicate', () => {
  it('replaces results the predicate rejects, handing the fallback the result', async () => {
    interface Reply {
      status: number;
      body: string;
    }
    const f = Fallback.of({
      whenResult: (r: Reply) => r.status >= 500,
      fallback: async (r) => ({ status: 200, body: `stale (was ${r.status})` }),
    });
    await expect(f.execute(async () => ({ status: 503, body: '' }))).resolves.toEqual({
      status: 200,
      body: 'stale (was 503)',
    });
    await expect(f.execute(async () => ({ status: 200, body: 'fresh' }))).resolves.toEqual({
      status: 200,
      body: 'fresh',
    });
  });

  it('does not touch errors', async () => {
    const f = Fallback.of({ whenResult: (r: number) => r < 0, fallback: () => 0 });
    await expect(f.execute(fail(new Error('e')) as never)).rejects.toThrow('e');
  });

  it('keeps the result when the predicate throws', async () => {
    const f = Fallback.of({
      whenResult: (_r: number): boolean => {
        throw new Error('bug');
      },
      fallback: () => 0,
    });
    await expect(f.execute(async () => 7)).resolves.toBe(7);
  });
});

describe('Fallback and the caller signal', () => {
  it('hands fn and the fallback the caller signal', async () => {
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const f = Fallback.of({
      on: [AError],
      fallback: (_e, signal) => {
        seen.push(signal);
        return 'fb';
      },
    });
    await f.execute(async (signal) => {
      seen.push(signal);
      throw new AError();
    }, controller.signal);
    expect(seen).toEqual([controller.signal, controller.signal]);
  });

  it('gives no fallback to a caller that aborted', async () => {
    const controller = new AbortController();
    const f = Fallback.of({ on: () => true, fallback: () => 'fb' });
    const result = f.execute(
      (signal) =>
        new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      controller.signal,
    );
    controller.abort('gone');
    await expect(result).rejects.toBe('gone');
  });
});

describe('Fallback config', () => {
  it('needs exactly one of on, when and whenResult, and a fallback', () => {
    expect(() => Fallback.of({ fallback: () => 1 } as never)).toThrow(ConfigError);
    expect(() => Fallback.of({ on: [AError], when: () => true, fallback: () => 1 } as never)).toThrow(
      /'when' must be absent when on is given/,
    );
    expect(() => Fallback.of({ on: [AError] } as never)).toThrow(/'fallback' must be a function/);
    expect(() => Fallback.of({ on: [AError], fallback: 'x' } as never)).toThrow(/fallback/);
    expect(() => Fallback.of({ on: [1], fallback: () => 1 } as never)).toThrow(
      /'on' must be an array of error classes/,
    );
    expect(() => Fallback.of({ when: [AError], fallback: () => 1 } as never)).toThrow(
      /'when' must be a function/,
    );
    expect(() => Fallback.of({ on: [AError], fallback: () => 1, extra: 1 } as never)).toThrow(
      /'extra' is not an option/,
    );
  });
});

describe('Fallback.decorate', () => {
  it('keeps arguments; the result type joins the fallback type', async () => {
    const f = Fallback.of({ on: [AError], fallback: () => null });
    const find = f.decorate(async (id: number) => {
      if (id < 0) throw new AError();
      return { id };
    });
    expectTypeOf(find).toEqualTypeOf<(id: number) => Promise<{ id: number } | null>>();
    await expect(find(1)).resolves.toEqual({ id: 1 });
    await expect(find(-1)).resolves.toBeNull();
  });
});

describe('Fallback properties', () => {
  it('applies only to matching errors', async () => {
    const classes = [AError, BError, SubAError, OtherError, Error] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.subarray([...classes]),
        fc.constantFrom(...classes),
        fc.boolean(),
        async (on, thrown, asPredicate) => {
          const matches = (e: unknown) => on.some((c) => e instanceof c);
          const f = asPredicate
            ? Fallback.of({ when: matches, fallback: () => 'fb' })
            : Fallback.of({ on, fallback: () => 'fb' });
          const error = new thrown();
          const outcome = await f.execute(fail(error)).then(
            (v) => v,
            (e: unknown) => e,
          );
          expect(outcome).toBe(matches(error) ? 'fb' : error);
        },
      ),
    );
  });
});
