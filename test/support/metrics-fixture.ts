/**
 * Registries of every policy kind with every metric the exporter emits exercised at least once:
 * the source of truth for "which metric names really exist" (dashboards and alert rules are
 * checked against a scrape of this).
 */
import { Cache } from '@breakwater/cache';
import {
  BulkheadRegistry,
  CircuitBreakerRegistry,
  RateLimiterRegistry,
  RetryRegistry,
  TimeLimiterRegistry,
} from '@breakwater/core';
import {
  collectCacheMetrics,
  collectMetrics,
  collectStoreMetrics,
  type MetricsHandle,
  type ObservableStore,
} from '@breakwater/prometheus';
import type { Registry } from 'prom-client';

export interface ExercisedPolicies {
  readonly breakers: CircuitBreakerRegistry;
  readonly retries: RetryRegistry;
  readonly rateLimiters: RateLimiterRegistry;
  readonly timeLimiters: TimeLimiterRegistry;
  readonly bulkheads: BulkheadRegistry;
  readonly cache: Cache<string>;
  readonly handles: readonly MetricsHandle[];
}

const boom = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');
const swallow = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    () => undefined,
  );

class IgnoredError extends Error {}

/**
 * Every policy kind, with metrics collected on `register` and calls made: a breaker that opened
 * (successful, failed, ignored and refused calls), retries, a rate limiter, a time limiter that
 * timed out, a bulkhead, a cache (hits, misses, a load that failed). With `store`, its metrics too
 * (and the breakers keep their state in it).
 */
export async function exerciseEveryPolicy(
  register: Registry,
  store?: ObservableStore & import('@breakwater/core').Store,
): Promise<ExercisedPolicies> {
  const breakers = CircuitBreakerRegistry.of({
    store,
    configs: {
      default: {
        slidingWindowSize: 4,
        minimumNumberOfCalls: 4,
        failureRateThreshold: 50,
        ignoreExceptions: [IgnoredError],
      },
    },
  });
  const retries = RetryRegistry.of({ configs: { default: { maxAttempts: 2, waitDuration: 1 } } });
  const rateLimiters = RateLimiterRegistry.of({
    configs: { default: { limitForPeriod: 5, limitRefreshPeriod: 60_000, timeoutDuration: 0 } },
  });
  const timeLimiters = TimeLimiterRegistry.of({ configs: { default: { timeoutDuration: 20 } } });
  const bulkheads = BulkheadRegistry.of({
    configs: { default: { maxConcurrentCalls: 3, maxWaitDuration: 0 } },
  });
  const cache = Cache.of<string>('users', { ttlMs: 60_000 });
  const handles = [
    collectMetrics([breakers, retries, rateLimiters, timeLimiters, bulkheads], { register }),
    collectCacheMetrics(cache, { register }),
    ...(store === undefined ? [] : [collectStoreMetrics(store, { register })]),
  ];

  // Created after collectMetrics: registries report policies added later.
  const cb = breakers.circuitBreaker('inventory');
  await cb.execute(ok);
  await swallow(cb.execute(() => Promise.reject(new IgnoredError('ignored'))));
  await cb.execute(ok);
  await swallow(cb.execute(boom));
  await swallow(cb.execute(boom)); // 4 calls buffered, 2 failed: 50% -> OPEN
  await swallow(cb.execute(ok)); // refused
  breakers.circuitBreaker('payments');

  const retry = retries.retry('inventory');
  await retry.execute(ok);
  await swallow(retry.execute(boom));
  let first = true;
  await retry.execute(() => {
    if (first) {
      first = false;
      return boom();
    }
    return ok();
  });

  const limiter = rateLimiters.rateLimiter('inventory');
  await limiter.execute(ok);
  await limiter.execute(ok);

  const timeLimiter = timeLimiters.timeLimiter('inventory');
  await timeLimiter.execute(ok);
  await swallow(timeLimiter.execute(boom));
  await swallow(timeLimiter.execute(() => new Promise((resolve) => setTimeout(resolve, 200))));

  const bulkhead = bulkheads.bulkhead('inventory');
  let release = () => {};
  const held = bulkhead.execute(() => new Promise<void>((resolve) => (release = resolve)));
  await new Promise((resolve) => setImmediate(resolve));
  // one slot of three held while the test scrapes; released by the caller via releaseHeld()
  heldCalls.set(bulkheads, { release: () => release(), held });

  await cache.get('user:1', async () => 'ada');
  await cache.get('user:1', async () => 'ada');
  await swallow(cache.get('user:2', boom));

  return { breakers, retries, rateLimiters, timeLimiters, bulkheads, cache, handles };
}

const heldCalls = new WeakMap<BulkheadRegistry, { release: () => void; held: Promise<unknown> }>();

/** Lets the bulkhead call held by `exerciseEveryPolicy` finish, and stops collecting. */
export async function finishExercise(p: ExercisedPolicies): Promise<void> {
  const h = heldCalls.get(p.bulkheads);
  h?.release();
  await h?.held;
  for (const handle of p.handles) handle.close();
  p.cache.close();
  for (const cb of p.breakers.getAllCircuitBreakers()) cb.close();
}
