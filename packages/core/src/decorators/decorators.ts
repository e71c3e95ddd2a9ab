/**
 * The decorator chain (Resilience4j's `Decorators`): stacks policies around a function, each
 * `with*` wrapping what came before, so that
 *
 *   Decorators.ofSupplier(fn).withCircuitBreaker(cb).withRetry(retry).decorate()
 *
 * is `Retry(CircuitBreaker(fn))`: every attempt of the retry re-enters the breaker.
 *
 * How the AbortSignal travels: the caller's signal (the argument of a decorated supplier, or the
 * first argument of `decorateWithSignal()`) goes to the outermost layer; every policy hands its
 * function the signal it was given, except a TimeLimiter, which hands the layers inside it (and the
 * user's function) its own signal, aborting on timeout and following the caller's abort. Without a
 * caller signal the outermost layer gets `undefined`, every policy's fast path (bench `chain`,
 * cases `ours` and `ours-fn`).
 *
 * Cost: `decorate()` composes the layers once. A decorated supplier adds no allocation of its own
 * per call (it checks that its argument is a signal, then calls the outermost layer); a decorated
 * function allocates one closure per layer per call, because its arguments must travel with the
 * call through policies that take suppliers (and reach its fallbacks' handlers).
 */
import type { Bulkhead } from '../bulkhead/bulkhead.js';
import type { CircuitBreaker } from '../circuit-breaker/circuit-breaker.js';
import { type ErrorClass, toErrorPredicate } from '../common/config-reader.js';
import { ConfigError } from '../common/errors.js';
import { NEVER_ABORTED } from '../common/signal.js';
import type { MaybePromise, Supplier } from '../common/types.js';
import { Fallback } from '../fallback/fallback.js';
import type { RateLimiter } from '../rate-limiter/rate-limiter.js';
import type { Retry } from '../retry/retry.js';
import type { TimeLimiter } from '../time-limiter/time-limiter.js';
import type { ReadThroughCache } from './read-through-cache.js';

/** A decorated supplier: pass `signal` to abort the call (every layer and the supplier see it). */
export type DecoratedSupplier<T> = (signal?: AbortSignal) => Promise<T>;

/** A decorated function with its caller's signal first: `(signal, ...args)`. */
export type DecoratedFunctionWithSignal<A extends unknown[], T> = (
  signal: AbortSignal | undefined,
  ...args: A
) => Promise<T>;

/**
 * What a fallback of a chain runs: the error (or the unwanted result), the signal of the call, and,
 * in a function chain, the call's arguments (as opossum's and Resilience4j's fallback methods get).
 */
export type FallbackHandler<Cause, R, A extends unknown[] = []> = (
  cause: Cause,
  signal: AbortSignal,
  ...args: A
) => MaybePromise<R>;

/** Replaces a result for which `whenResult(result)` is true with `fallback(result, signal, ...args)`. */
export interface ResultFallback<T, R, A extends unknown[] = []> {
  readonly whenResult: (result: T) => boolean;
  readonly fallback: FallbackHandler<T, R, A>;
}

/** A policy call with the signal it runs under; `undefined` when the caller gave none (the fast path). */
type Step = (signal: AbortSignal | undefined) => Promise<unknown>;
/**
 * One layer of the chain: given what runs inside it, the step that runs that through one policy.
 * `args` are the call's arguments in a function chain (only fallbacks use them), else undefined.
 */
type Layer = (inner: Supplier<unknown>, args: readonly unknown[] | undefined) => Step;

// One function literal per kind of policy, so that each `execute` call site stays monomorphic.
const circuitBreakerLayer =
  (cb: CircuitBreaker): Layer =>
  (inner) =>
  (signal) =>
    cb.execute(inner, signal);
const retryLayer =
  (retry: Retry): Layer =>
  (inner) =>
  (signal) =>
    retry.execute(inner, signal);
const rateLimiterLayer =
  (rl: RateLimiter): Layer =>
  (inner) =>
  (signal) =>
    rl.execute(inner, signal);
/** Several permits per call: `execute` takes one, so acquire them first. */
const rateLimiterPermitsLayer =
  (rl: RateLimiter, permits: number): Layer =>
  (inner) =>
  (signal) =>
    rl.acquirePermission(permits, signal).then(() => inner(signal ?? NEVER_ABORTED));
const timeLimiterLayer =
  (tl: TimeLimiter): Layer =>
  (inner) =>
  (signal) =>
    tl.execute(inner, signal);
const bulkheadLayer =
  (bh: Bulkhead): Layer =>
  (inner) =>
  (signal) =>
    bh.execute(inner, signal);
const fallbackInstanceLayer =
  (fb: Fallback<unknown, unknown>): Layer =>
  (inner) =>
  (signal) =>
    fb.execute(inner, signal);

/**
 * Answers from `cache` when it holds the key, else runs what came before (as the cache's loader)
 * and lets the cache keep the value. `key` is the key itself in a supplier chain, or built from
 * the call's arguments in a function chain; a key function that throws rejects the call.
 */
const cacheLayer =
  (cache: ReadThroughCache<unknown>, key: string | ((...args: unknown[]) => string)): Layer =>
  (inner, args) =>
  (signal) => {
    let k: string;
    try {
      k = typeof key === 'string' ? key : key(...(args ?? []));
    } catch (error) {
      return Promise.reject(error);
    }
    return cache.get(k, inner, signal);
  };

function requireCache(cache: unknown): void {
  if (typeof (cache as { get?: unknown } | null)?.get !== 'function') {
    throw new ConfigError('Decorators.withCache', {
      field: 'cache',
      value: cache,
      allowed: 'a cache with get(key, loader, signal?) (a Cache from @breakwater/cache)',
    });
  }
}

type Matcher = (value: unknown) => boolean;
type AnyHandler = (cause: unknown, signal: AbortSignal, ...args: unknown[]) => unknown;

const fallbackLayer =
  (matchesError: Matcher | undefined, matchesResult: Matcher | undefined, handler: AnyHandler): Layer =>
  (inner, args) =>
  (signal) =>
    recover(inner, signal ?? NEVER_ABORTED, args, matchesError, matchesResult, handler);

/** Fallback's semantics, with the call's arguments handed to the handler in a function chain. */
async function recover(
  inner: Supplier<unknown>,
  signal: AbortSignal,
  args: readonly unknown[] | undefined,
  matchesError: Matcher | undefined,
  matchesResult: Matcher | undefined,
  handler: AnyHandler,
): Promise<unknown> {
  let value: unknown;
  try {
    value = await inner(signal);
  } catch (error) {
    // An aborted caller wants no value: its abort passes through, as with Fallback.
    if (matchesError === undefined || signal.aborted || !test(matchesError, error)) throw error;
    return args === undefined ? handler(error, signal) : handler(error, signal, ...args);
  }
  if (matchesResult !== undefined && test(matchesResult, value)) {
    return args === undefined ? handler(value, signal) : handler(value, signal, ...args);
  }
  return value;
}

/** A predicate that throws means "no match": the original outcome is kept (as Fallback does). */
function test(predicate: Matcher, value: unknown): boolean {
  try {
    return predicate(value) === true;
  } catch {
    return false;
  }
}

const always = () => true;

/** Runs a function with no layer around it: a synchronous throw becomes a rejection. */
function bare(fn: Supplier<unknown>): Step {
  return (signal) => {
    try {
      return Promise.resolve(fn(signal ?? NEVER_ABORTED));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

function compose(
  fn: Supplier<unknown>,
  layers: readonly Layer[],
  args: readonly unknown[] | undefined,
): Step {
  if (layers.length === 0) return bare(fn);
  let step: Step = layers[0](fn, args);
  for (let i = 1; i < layers.length; i++) step = layers[i](step, args);
  return step;
}

function isSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

function notASignal(value: unknown): Promise<never> {
  return Promise.reject(
    new TypeError(
      `a decorated call takes an AbortSignal (or nothing) as its signal, got ${value === null ? 'null' : typeof value}`,
    ),
  );
}

function requirePolicy(method: string, field: string, kind: string, policy: unknown): void {
  if (typeof (policy as { execute?: unknown } | null)?.execute !== 'function') {
    throw new ConfigError(`Decorators.${method}`, { field, value: policy, allowed: `a ${kind}` });
  }
}

/**
 * Turns the arguments of `withFallback` into a layer. Fallback.of validates them (with its
 * ConfigError naming the field); a Fallback instance runs as it is, without the call's arguments.
 */
function toFallbackLayer(first: unknown, second: unknown): Layer {
  if (second === undefined) {
    if (first instanceof Fallback) return fallbackInstanceLayer(first as Fallback<unknown, unknown>);
    if (typeof first === 'function') {
      Fallback.of({ when: always, fallback: first as AnyHandler });
      return fallbackLayer(always, undefined, first as AnyHandler);
    }
    const config = first as { whenResult?: Matcher; fallback?: AnyHandler } | null;
    if (typeof config !== 'object' || config === null || config.whenResult === undefined) {
      throw new ConfigError('Decorators.withFallback', {
        field: '(arguments)',
        value: first,
        allowed:
          '(error classes, handler), (predicate, handler), (handler), { whenResult, fallback } or a Fallback',
      });
    }
    // Validates whenResult and fallback, and refuses unknown keys.
    Fallback.of(config as { whenResult: Matcher; fallback: AnyHandler });
    return fallbackLayer(undefined, config.whenResult, config.fallback as AnyHandler);
  }
  // Validates the matcher and the handler.
  Fallback.of({ on: first as Matcher, fallback: second as AnyHandler });
  return fallbackLayer(toErrorPredicate(first), undefined, second as AnyHandler);
}

/**
 * What both builders share: the layers so far, innermost first. Builders are immutable: every
 * `with*` returns a new builder, so a common prefix can be reused.
 */
abstract class DecoratorBuilder {
  protected constructor(protected readonly layers: readonly Layer[]) {}

  /** The same builder with `layer` around everything so far. */
  protected abstract wrap(layer: Layer): this;

  /** Runs what came before through `cb`: its outcome is recorded; CallNotPermittedError when open. */
  withCircuitBreaker(cb: CircuitBreaker): this {
    requirePolicy('withCircuitBreaker', 'circuitBreaker', 'CircuitBreaker', cb);
    return this.wrap(circuitBreakerLayer(cb));
  }

  /** Runs what came before again on failure: each attempt re-enters every layer added before. */
  withRetry(retry: Retry): this {
    requirePolicy('withRetry', 'retry', 'Retry', retry);
    return this.wrap(retryLayer(retry));
  }

  /** Takes `permits` (default 1, at most `limitForPeriod`) from `rl` before running what came before. */
  withRateLimiter(rl: RateLimiter, permits = 1): this {
    requirePolicy('withRateLimiter', 'rateLimiter', 'RateLimiter', rl);
    if (!Number.isInteger(permits) || permits < 1 || permits > rl.config.limitForPeriod) {
      throw new ConfigError('Decorators.withRateLimiter', {
        field: 'permits',
        value: permits,
        allowed: `an integer in [1, ${rl.config.limitForPeriod}] (the limiter's limitForPeriod)`,
      });
    }
    return this.wrap(permits === 1 ? rateLimiterLayer(rl) : rateLimiterPermitsLayer(rl, permits));
  }

  /**
   * Bounds what came before in time. The layers inside and the function receive the time limiter's
   * signal, which aborts on timeout (with `cancelRunningFuture`) or when the caller aborts.
   */
  withTimeLimiter(tl: TimeLimiter): this {
    requirePolicy('withTimeLimiter', 'timeLimiter', 'TimeLimiter', tl);
    return this.wrap(timeLimiterLayer(tl));
  }

  /** Runs what came before in one of `bh`'s slots (waiting in its queue if configured to). */
  withBulkhead(bh: Bulkhead): this {
    requirePolicy('withBulkhead', 'bulkhead', 'Bulkhead', bh);
    return this.wrap(bulkheadLayer(bh));
  }

  protected layersWith(layer: Layer): readonly Layer[] {
    return [...this.layers, layer];
  }
}

/** A chain around a supplier `(signal) => value`. */
export class SupplierDecorator<T> extends DecoratorBuilder {
  /** @internal Use `Decorators.ofSupplier`. */
  constructor(
    private readonly fn: Supplier<unknown>,
    layers: readonly Layer[],
  ) {
    super(layers);
  }

  protected wrap(layer: Layer): this {
    return new SupplierDecorator<T>(this.fn, this.layersWith(layer)) as this;
  }

  /** Substitutes `fallback(error, signal)` when what came before fails with an instance of one of `on`. */
  withFallback<C extends ErrorClass, R>(
    on: readonly C[],
    fallback: FallbackHandler<InstanceType<C>, R>,
  ): SupplierDecorator<T | Awaited<R>>;
  /** Substitutes `fallback(error, signal)` when `when(error)` is true (a type guard narrows the error). */
  withFallback<E, R>(
    when: (error: unknown) => error is E,
    fallback: FallbackHandler<E, R>,
  ): SupplierDecorator<T | Awaited<R>>;
  withFallback<R>(
    when: (error: unknown) => boolean,
    fallback: FallbackHandler<unknown, R>,
  ): SupplierDecorator<T | Awaited<R>>;
  /** Substitutes `fallback(error, signal)` for every error (but not for the caller's own abort). */
  withFallback<R>(fallback: FallbackHandler<unknown, R>): SupplierDecorator<T | Awaited<R>>;
  /** Replaces a result for which `whenResult(result)` is true with `fallback(result, signal)`. */
  withFallback<R>(config: ResultFallback<T, R>): SupplierDecorator<T | Awaited<R>>;
  /** A Fallback built with `Fallback.of`. */
  withFallback<R>(fallback: Fallback<R, T>): SupplierDecorator<T | Awaited<R>>;
  withFallback(first: unknown, second?: unknown): SupplierDecorator<unknown> {
    return new SupplierDecorator(this.fn, this.layersWith(toFallbackLayer(first, second)));
  }

  /**
   * Answers from `cache` under `key` when it holds a value; otherwise runs what came before as the
   * cache's loader (once per key at a time) and lets the cache keep its value. Layers added after
   * this one run around the cache: `withCache(c, k).withRetry(r)` retries a failed load, and
   * `withRetry(r).withCache(c, k)` answers a hit without entering the retry.
   */
  withCache(cache: ReadThroughCache<T>, key: string): this {
    requireCache(cache);
    if (typeof key !== 'string') {
      throw new ConfigError('Decorators.withCache', { field: 'key', value: key, allowed: 'a string' });
    }
    return this.wrap(cacheLayer(cache as ReadThroughCache<unknown>, key));
  }

  /**
   * The decorated supplier, composed once. Call it with an AbortSignal to make the call abortable:
   * an abort rejects at once with the signal's reason, and every layer and the supplier see it.
   */
  decorate(): DecoratedSupplier<T> {
    const run = compose(this.fn, this.layers, undefined);
    return ((signal?: AbortSignal) =>
      signal === undefined || isSignal(signal) ? run(signal) : notASignal(signal)) as DecoratedSupplier<T>;
  }

  /** Runs the chain once (composing it for this one call). */
  get(signal?: AbortSignal): Promise<T> {
    return this.decorate()(signal);
  }
}

/** A chain around a function whose arguments pass through. */
export class FunctionDecorator<A extends unknown[], T> extends DecoratorBuilder {
  /** @internal Use `Decorators.ofFunction` or `Decorators.ofFunctionWithSignal`. */
  constructor(
    private readonly fn: (...args: never[]) => unknown,
    /** The function takes the signal as its first argument (`ofFunctionWithSignal`). */
    private readonly takesSignal: boolean,
    layers: readonly Layer[],
  ) {
    super(layers);
  }

  protected wrap(layer: Layer): this {
    return new FunctionDecorator<A, T>(this.fn, this.takesSignal, this.layersWith(layer)) as this;
  }

  /**
   * Substitutes `fallback(error, signal, ...args)` when what came before fails with an instance of
   * one of `on`; the handler gets the call's arguments after the signal.
   */
  withFallback<C extends ErrorClass, R>(
    on: readonly C[],
    fallback: FallbackHandler<InstanceType<C>, R, A>,
  ): FunctionDecorator<A, T | Awaited<R>>;
  /** Substitutes `fallback(error, signal, ...args)` when `when(error)` is true (a type guard narrows the error). */
  withFallback<E, R>(
    when: (error: unknown) => error is E,
    fallback: FallbackHandler<E, R, A>,
  ): FunctionDecorator<A, T | Awaited<R>>;
  withFallback<R>(
    when: (error: unknown) => boolean,
    fallback: FallbackHandler<unknown, R, A>,
  ): FunctionDecorator<A, T | Awaited<R>>;
  /** Substitutes `fallback(error, signal, ...args)` for every error (but not for the caller's own abort). */
  withFallback<R>(fallback: FallbackHandler<unknown, R, A>): FunctionDecorator<A, T | Awaited<R>>;
  /** Replaces a result for which `whenResult(result)` is true with `fallback(result, signal, ...args)`. */
  withFallback<R>(config: ResultFallback<T, R, A>): FunctionDecorator<A, T | Awaited<R>>;
  /** A Fallback built with `Fallback.of` (its handler gets no arguments). */
  withFallback<R>(fallback: Fallback<R, T>): FunctionDecorator<A, T | Awaited<R>>;
  withFallback(first: unknown, second?: unknown): FunctionDecorator<A, unknown> {
    return new FunctionDecorator(this.fn, this.takesSignal, this.layersWith(toFallbackLayer(first, second)));
  }

  /**
   * Answers from `cache` under `key(...args)` when it holds a value; otherwise runs what came
   * before as the cache's loader (once per key at a time) and lets the cache keep its value.
   */
  withCache(cache: ReadThroughCache<T>, key: (...args: A) => string): this {
    requireCache(cache);
    if (typeof key !== 'function') {
      throw new ConfigError('Decorators.withCache', {
        field: 'key',
        value: key,
        allowed: 'a function of the call arguments that returns the key',
      });
    }
    return this.wrap(cacheLayer(cache as ReadThroughCache<unknown>, key as (...args: unknown[]) => string));
  }

  /** The decorated function: the original parameters, a promise of the (awaited) result. */
  decorate(): (...args: A) => Promise<T> {
    const run = this.compile();
    return (...args: A) => run(undefined, args);
  }

  /**
   * The decorated function with the caller's AbortSignal (or undefined) as its first argument:
   * an abort rejects at once with the signal's reason, and every layer sees it.
   */
  decorateWithSignal(): DecoratedFunctionWithSignal<A, T> {
    const run = this.compile();
    return (signal: AbortSignal | undefined, ...args: A) =>
      signal === undefined || isSignal(signal) ? run(signal, args) : notASignal(signal);
  }

  private compile(): (signal: AbortSignal | undefined, args: A) => Promise<T> {
    const fn = this.fn as (...args: unknown[]) => unknown;
    const layers = this.layers;
    if (this.takesSignal) {
      return (signal, args) => compose((s) => fn(s, ...args), layers, args)(signal) as Promise<T>;
    }
    return (signal, args) => compose(() => fn(...args), layers, args)(signal) as Promise<T>;
  }
}

function requireFunction(method: string, fn: unknown): void {
  if (typeof fn !== 'function') {
    throw new ConfigError(`Decorators.${method}`, { field: 'fn', value: fn, allowed: 'a function' });
  }
}

/**
 * Builders of decorator chains. Each `with*` wraps what came before:
 * `ofSupplier(fn).withCircuitBreaker(cb).withRetry(r)` is `Retry(CircuitBreaker(fn))`. The
 * recommended order, innermost first, is Bulkhead, TimeLimiter, RateLimiter, CircuitBreaker, Retry
 * (then Fallback): `Retry(CircuitBreaker(RateLimiter(TimeLimiter(Bulkhead(fn)))))`.
 */
export const Decorators = Object.freeze({
  /** A chain around `fn(signal)`; `decorate()` gives `(signal?) => Promise<result>`, `get()` runs it once. */
  ofSupplier<R>(fn: (signal: AbortSignal) => R): SupplierDecorator<Awaited<R>> {
    requireFunction('ofSupplier', fn);
    return new SupplierDecorator<Awaited<R>>(fn, []);
  },

  /**
   * A chain around `fn(...args)`: `decorate()` gives a function with the same parameters,
   * `decorateWithSignal()` the same with the caller's AbortSignal first. `fn` does not see the
   * signal; use `ofFunctionWithSignal` for a function that can stop its work.
   */
  ofFunction<A extends unknown[], R>(fn: (...args: A) => R): FunctionDecorator<A, Awaited<R>> {
    requireFunction('ofFunction', fn);
    return new FunctionDecorator<A, Awaited<R>>(fn as (...args: never[]) => unknown, false, []);
  },

  /**
   * A chain around `fn(signal, ...args)`: the decorated function takes only `...args`
   * (`decorate()`) or `(signal, ...args)` (`decorateWithSignal()`), and `fn` receives the signal
   * of the innermost layer (a time limiter's, the caller's, or one that never aborts).
   */
  ofFunctionWithSignal<A extends unknown[], R>(
    fn: (signal: AbortSignal, ...args: A) => R,
  ): FunctionDecorator<A, Awaited<R>> {
    requireFunction('ofFunctionWithSignal', fn);
    return new FunctionDecorator<A, Awaited<R>>(fn as (...args: never[]) => unknown, true, []);
  },
});
