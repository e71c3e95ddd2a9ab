import {
  Bulkhead,
  BulkheadRegistry,
  CircuitBreaker,
  CircuitBreakerRegistry,
  RateLimiter,
  RateLimiterRegistry,
  Retry,
  RetryRegistry,
  TimeLimiter,
  TimeLimiterRegistry,
  type Unsubscribe,
} from '@breakwater/core';
import { register as defaultRegister, type Registry } from 'prom-client';
import { type Policy, PolicyMetrics } from './policy-metrics.js';

/** A registry of policies: its policies are reported, including those created later. */
export type PolicyRegistrySource =
  | CircuitBreakerRegistry
  | RetryRegistry
  | RateLimiterRegistry
  | TimeLimiterRegistry
  | BulkheadRegistry;

/** What `collectMetrics` reports on: a policy, a registry, or a list of them. */
export type MetricsSource = Policy | PolicyRegistrySource;

export interface CollectMetricsOptions {
  /** The prom-client registry to register the metrics in. Default: prom-client's global `register`. */
  readonly register?: Registry;
  /**
   * Histogram buckets of `resilience4j_circuitbreaker_calls_seconds`, in seconds. Default 1 ms to
   * 60 s. The first `collectMetrics` call on a registry decides.
   */
  readonly callBuckets?: readonly number[];
}

/** Stops reporting what one `collectMetrics` or `collectStoreMetrics` call started reporting. */
export interface MetricsHandle {
  /** The prom-client registry the metrics are in. */
  readonly register: Registry;
  /**
   * Stops following the sources (their series disappear from the next scrape). The metrics leave
   * the registry when the last handle on it is closed. Calling it twice is harmless.
   */
  close(): void;
}

interface RegistryView {
  all(): Policy[];
  onAdded(listener: (policy: Policy) => void): Unsubscribe;
  onRemoved(listener: (policy: Policy) => void): Unsubscribe;
}

/**
 * Reports the metrics of policies on a prom-client registry, with Resilience4j's Micrometer names
 * and labels (`resilience4j_circuitbreaker_state{name,state}`, ...).
 *
 * Gauges (breaker state, failure and slow-call rates, buffered calls, rate-limiter permits,
 * bulkhead slots) are read from the policies when Prometheus scrapes: with a shared store every
 * process reports the fleet's state. Call durations and refusals come from the breakers' events;
 * retry and time-limiter counts from their own counters.
 *
 * ```ts
 * const registry = CircuitBreakerRegistry.of({ store });
 * const metrics = collectMetrics(registry);            // breakers created later are included
 * http.createServer(metricsHandler()).listen(9464);
 * ```
 */
export function collectMetrics(
  source: MetricsSource | readonly MetricsSource[],
  options: CollectMetricsOptions = {},
): MetricsHandle {
  const sources: readonly MetricsSource[] = Array.isArray(source) ? source : [source as MetricsSource];
  const views = sources.map((s, i) => viewOf(s, i));
  const register = options.register ?? defaultRegister;
  const exporter = PolicyMetrics.acquire(register, options.callBuckets);

  // What this handle tracks, so that closing it lets go of exactly that.
  const mine = new Set<Policy>();
  const follow = (policy: Policy) => {
    if (mine.has(policy)) return;
    mine.add(policy);
    exporter.track(policy);
  };
  const unfollow = (policy: Policy) => {
    if (!mine.delete(policy)) return;
    exporter.untrack(policy);
  };
  const stops: Unsubscribe[] = [];
  for (const view of views) {
    if (isPolicy(view)) {
      follow(view);
      continue;
    }
    stops.push(view.onAdded(follow), view.onRemoved(unfollow));
    for (const policy of view.all()) follow(policy);
  }

  let closed = false;
  return {
    register,
    close() {
      if (closed) return;
      closed = true;
      for (const stop of stops) stop();
      for (const policy of mine) exporter.untrack(policy);
      mine.clear();
      exporter.release();
    },
  };
}

function isPolicy(x: Policy | RegistryView): x is Policy {
  return (
    x instanceof CircuitBreaker ||
    x instanceof Retry ||
    x instanceof RateLimiter ||
    x instanceof TimeLimiter ||
    x instanceof Bulkhead
  );
}

function viewOf(source: MetricsSource, index: number): Policy | RegistryView {
  if (isPolicy(source as Policy | RegistryView)) return source as Policy;
  const adapt = <P extends Policy>(
    all: () => P[],
    onAdded: (l: (p: P) => void) => Unsubscribe,
    onRemoved: (l: (p: P) => void) => Unsubscribe,
  ): RegistryView => ({
    all,
    onAdded: onAdded as RegistryView['onAdded'],
    onRemoved: onRemoved as RegistryView['onRemoved'],
  });
  if (source instanceof CircuitBreakerRegistry)
    return adapt(
      () => source.getAllCircuitBreakers(),
      (l) => source.onAdded(l),
      (l) => source.onRemoved(l),
    );
  if (source instanceof RetryRegistry)
    return adapt(
      () => source.getAllRetries(),
      (l) => source.onAdded(l),
      (l) => source.onRemoved(l),
    );
  if (source instanceof RateLimiterRegistry)
    return adapt(
      () => source.getAllRateLimiters(),
      (l) => source.onAdded(l),
      (l) => source.onRemoved(l),
    );
  if (source instanceof TimeLimiterRegistry)
    return adapt(
      () => source.getAllTimeLimiters(),
      (l) => source.onAdded(l),
      (l) => source.onRemoved(l),
    );
  if (source instanceof BulkheadRegistry)
    return adapt(
      () => source.getAllBulkheads(),
      (l) => source.onAdded(l),
      (l) => source.onRemoved(l),
    );
  throw new TypeError(
    `collectMetrics: source${index === 0 ? '' : ` #${index}`} is not a Breakwater policy or registry ` +
      '(CircuitBreaker, Retry, RateLimiter, TimeLimiter, Bulkhead or one of their registries). ' +
      'Is @breakwater/core installed twice?',
  );
}
