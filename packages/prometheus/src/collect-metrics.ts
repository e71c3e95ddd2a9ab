import type { Registry as BreakwaterRegistry, PolicyKind, Unsubscribe } from '@breakwater/core';
import { register as defaultRegister, type Registry } from 'prom-client';
import { type Policy, PolicyMetrics } from './policy-metrics.js';
import { metricsHandle } from './shared-exporter.js';

/** A registry of policies (any of the five): its policies are reported, including those created later. */
export type PolicyRegistrySource = BreakwaterRegistry<Policy>;

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
  const checkedSources = sources.map((s, i) => checked(s, i));
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
  for (const s of checkedSources) {
    if (isPolicy(s)) {
      follow(s);
      continue;
    }
    stops.push(s.onAdded(follow), s.onRemoved(unfollow));
    for (const policy of s.all()) follow(policy);
  }

  return metricsHandle(register, stops, () => {
    for (const policy of mine) exporter.untrack(policy);
    mine.clear();
    exporter.release();
  });
}

const POLICY_KINDS: ReadonlySet<PolicyKind> = new Set<PolicyKind>([
  'circuitbreaker',
  'retry',
  'ratelimiter',
  'timelimiter',
  'bulkhead',
]);

/** A policy says which it is in `kind`; a registry says which policies it keeps in `policyKind`. */
function isPolicy(x: MetricsSource): x is Policy {
  return POLICY_KINDS.has((x as { kind?: PolicyKind }).kind as PolicyKind);
}

function isRegistry(x: MetricsSource): x is PolicyRegistrySource {
  const r = x as Partial<PolicyRegistrySource>;
  return (
    POLICY_KINDS.has(r.policyKind as PolicyKind) &&
    typeof r.all === 'function' &&
    typeof r.onAdded === 'function' &&
    typeof r.onRemoved === 'function'
  );
}

function checked(source: MetricsSource, index: number): MetricsSource {
  if (typeof source === 'object' && source !== null && (isPolicy(source) || isRegistry(source)))
    return source;
  throw new TypeError(
    `collectMetrics: source${index === 0 ? '' : ` #${index}`} is not a Breakwater policy or registry ` +
      '(CircuitBreaker, Retry, RateLimiter, TimeLimiter, Bulkhead or one of their registries).',
  );
}
