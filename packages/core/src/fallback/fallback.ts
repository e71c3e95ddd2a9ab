import { ConfigReader, type ErrorClass, toErrorPredicate } from '../common/config-reader.js';
import { NEVER_ABORTED } from '../common/signal.js';
import type { MaybePromise, Supplier } from '../common/types.js';

/** Falls back when the error is an instance of one of `on`'s classes; `fallback` gets that instance. */
export interface FallbackOnClasses<C extends ErrorClass, R> {
  readonly on: readonly C[];
  readonly fallback: (error: InstanceType<C>, signal: AbortSignal) => MaybePromise<R>;
}

/** Falls back when the error is one `on` accepts: error classes or a predicate. */
export interface FallbackOnErrors<R> {
  readonly on: readonly ErrorClass[] | ((error: unknown) => boolean);
  readonly fallback: (error: unknown, signal: AbortSignal) => MaybePromise<R>;
}

/** Falls back when `when(error)` is true; a type guard narrows the error `fallback` receives. */
export interface FallbackWhen<E, R> {
  readonly when: ((error: unknown) => error is E) | ((error: unknown) => boolean);
  readonly fallback: (error: E, signal: AbortSignal) => MaybePromise<R>;
}

/** Replaces a result for which `whenResult(result)` is true with `fallback(result)`. */
export interface FallbackWhenResult<In, R> {
  readonly whenResult: (result: In) => boolean;
  readonly fallback: (result: In, signal: AbortSignal) => MaybePromise<R>;
}

const KNOWN_KEYS = ['on', 'when', 'whenResult', 'fallback'] as const;
const TRIGGERS = ['on', 'when', 'whenResult'] as const;

/**
 * Gives a substitute for a failed call (by error classes or an error predicate) or for an unwanted
 * result (by a result predicate). An error that does not match, a predicate that throws, and every
 * error once the caller's signal has aborted pass through unchanged: an aborted caller wants no value.
 */
export class Fallback<R, In = unknown> {
  private constructor(
    private readonly matchesError: ((error: unknown) => boolean) | undefined,
    private readonly matchesResult: ((result: In) => boolean) | undefined,
    private readonly fallback: (cause: unknown, signal: AbortSignal) => MaybePromise<R>,
  ) {}

  static of<C extends ErrorClass, R>(config: FallbackOnClasses<C, R>): Fallback<R>;
  static of<R>(config: FallbackOnErrors<R>): Fallback<R>;
  static of<E, R>(config: FallbackWhen<E, R>): Fallback<R>;
  static of<In, R>(config: FallbackWhenResult<In, R>): Fallback<R, In>;
  static of(config: unknown): Fallback<unknown, unknown> {
    const r: ConfigReader = new ConfigReader('Fallback config', config, KNOWN_KEYS);
    const given = TRIGGERS.filter((key) => r.has(key));
    if (given.length === 0) {
      r.fail('on', 'given: one of on (error classes or a predicate), when (an error predicate), whenResult');
    }
    if (given.length > 1) {
      r.fail(given[1], `absent when ${given[0]} is given (give exactly one of on, when, whenResult)`);
    }
    const fallback = r.func<(cause: unknown, signal: AbortSignal) => unknown>('fallback', undefined);
    if (fallback === undefined) r.fail('fallback', 'a function (error or result, signal) => value');
    const input = config as Record<string, unknown>;
    if (given[0] === 'on') {
      const matches = toErrorPredicate(input.on, (allowed) => r.fail('on', allowed));
      return new Fallback(matches, undefined, fallback);
    }
    if (given[0] === 'when') return new Fallback(r.func('when', undefined), undefined, fallback);
    return new Fallback(undefined, r.func('whenResult', undefined), fallback);
  }

  /** Runs `fn` (handing it `signal`), and substitutes the fallback's value when the error or result matches. */
  async execute<T extends In>(fn: Supplier<T>, signal?: AbortSignal): Promise<T | R> {
    const s = signal ?? NEVER_ABORTED;
    let value: T;
    try {
      value = await fn(s);
    } catch (error) {
      if (this.matchesError === undefined || s.aborted || !test(this.matchesError, error)) throw error;
      return this.fallback(error, s);
    }
    if (this.matchesResult !== undefined && test(this.matchesResult, value)) return this.fallback(value, s);
    return value;
  }

  /** Wraps `fn` so that every call goes through `execute`; arguments pass through, the fallback's type joins the result's. */
  decorate<A extends unknown[], T extends In>(
    fn: (...args: A) => MaybePromise<T>,
  ): (...args: A) => Promise<T | R> {
    return (...args: A) => this.execute(() => fn(...args));
  }
}

/** A predicate that throws means "no match": the original outcome is kept. */
function test<V>(predicate: (value: V) => boolean, value: V): boolean {
  try {
    return predicate(value) === true;
  } catch {
    return false;
  }
}
