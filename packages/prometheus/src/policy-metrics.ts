import {
  type Bulkhead,
  type BulkheadMetrics,
  type CircuitBreaker,
  type CircuitBreakerEvent,
  type CircuitBreakerMetrics,
  type CircuitBreakerStateName,
  type PolicyKind,
  type RateLimiter,
  type RateLimiterMetrics,
  type Retry,
  type RetryMetrics,
  STATES,
  type TimeLimiter,
  type TimeLimiterMetrics,
  type Unsubscribe,
} from '@breakwater/core';
import { Counter, Gauge, type Registry } from 'prom-client';
import { CallHistogram } from './call-histogram.js';
import { BREAKER_STATE_LABELS, DEFAULT_CALL_BUCKETS, METRIC_NAMES } from './names.js';
import { readOncePerScrape, type SetSeries, scrapedMetric } from './scraped-metric.js';
import { SharedExporter } from './shared-exporter.js';

/** A policy whose metrics can be collected. */
export type Policy = CircuitBreaker | Retry | RateLimiter | TimeLimiter | Bulkhead;

type PolicyOf<K extends PolicyKind> = Extract<Policy, { readonly kind: K }>;

interface Named<M> {
  readonly name: string;
  readonly metrics: M;
}

interface BreakerReading {
  readonly name: string;
  readonly state: CircuitBreakerStateName;
  readonly metrics: CircuitBreakerMetrics;
}

/** What one scrape reads from the (possibly shared) state of every policy, once for all gauges. */
interface Reading {
  readonly breakers: readonly BreakerReading[];
  readonly limiters: readonly Named<RateLimiterMetrics>[];
  readonly bulkheads: readonly Named<BulkheadMetrics>[];
  readonly retries: readonly Named<RetryMetrics>[];
  readonly timeLimiters: readonly Named<TimeLimiterMetrics>[];
}

interface Tracked {
  refs: number;
  off: Unsubscribe | undefined;
}

const POLICY_METRIC_NAMES = Object.values(METRIC_NAMES).filter((n) => n.startsWith('resilience4j_'));

/**
 * The policy metrics of one prom-client registry. Every `collectMetrics` call on the same registry
 * shares it (prom-client allows one metric per name), and it unregisters its metrics when the
 * last handle is closed.
 *
 * Gauges are read at scrape time from the policies themselves, i.e. from the store: with a shared
 * store every process reports the fleet's state. Counters and histograms that need a per-call
 * value (durations, refusals) follow the breakers' events; the rest read the policies' own
 * counters at scrape time, which costs the call path nothing.
 */
export class PolicyMetrics extends SharedExporter {
  static readonly acquire = SharedExporter.perRegistry(
    (register, callBuckets: readonly number[] | undefined) => new PolicyMetrics(register, callBuckets),
  );

  private readonly tracked = new Map<Policy, Tracked>();
  private readonly calls: CallHistogram;
  /** Refused calls per breaker name: counted on the call path, read at scrape time. */
  private readonly refused = new Map<string, { n: number; refs: number }>();
  /**
   * Every policy's state, read once per scrape. A policy whose read fails (its store is down and
   * has no fallback) is left out of that scrape.
   */
  private readonly read = readOncePerScrape(() => this.readAll());

  private constructor(register: Registry, callBuckets: readonly number[] = DEFAULT_CALL_BUCKETS) {
    super(register, POLICY_METRIC_NAMES);
    const { registers, read } = this;
    /** A metric of the policies read in this scrape: `each` writes the series of one. */
    const perPolicy = <K extends keyof Reading>(
      Kind: typeof Gauge | typeof Counter,
      name: string,
      help: string,
      labelNames: readonly string[],
      policies: K,
      each: (set: SetSeries, p: Reading[K][number]) => void,
    ) =>
      scrapedMetric(Kind, registers, name, help, ['name', ...labelNames], async (set) => {
        for (const p of (await read())[policies]) each(set, p);
      });
    /** A gauge of one number per policy name. */
    const perName = <K extends 'breakers' | 'limiters' | 'bulkheads'>(
      name: string,
      help: string,
      policies: K,
      value: (metrics: Reading[K][number]['metrics']) => number,
    ) => perPolicy(Gauge, name, help, [], policies, (set, p) => set({ name: p.name }, value(p.metrics)));
    /** A metric of one number per policy name and `kind`: the policies' `kinds(metrics)`. */
    const perKind = <K extends keyof Reading>(
      Kind: typeof Gauge | typeof Counter,
      name: string,
      help: string,
      policies: K,
      kinds: (metrics: Reading[K][number]['metrics']) => Record<string, number>,
    ) =>
      perPolicy(Kind, name, help, ['kind'], policies, (set, p) => {
        for (const [kind, n] of Object.entries(kinds(p.metrics))) set({ name: p.name, kind }, n);
      });
    perPolicy(
      Gauge,
      METRIC_NAMES.circuitBreakerState,
      'The states of the circuit breaker: 1 for the current state, 0 for the others',
      ['state'],
      'breakers',
      (set, b) => {
        for (const s of STATES) set({ name: b.name, state: BREAKER_STATE_LABELS[s] }, s === b.state ? 1 : 0);
      },
    );
    perName(
      METRIC_NAMES.circuitBreakerFailureRate,
      'The failure rate of the circuit breaker in percent (-1 below the minimum number of calls)',
      'breakers',
      (m) => m.failureRate,
    );
    perName(
      METRIC_NAMES.circuitBreakerSlowCallRate,
      'The slow call rate of the circuit breaker in percent (-1 below the minimum number of calls)',
      'breakers',
      (m) => m.slowCallRate,
    );
    perKind(
      Gauge,
      METRIC_NAMES.circuitBreakerBufferedCalls,
      'The number of buffered calls in the sliding window, by outcome',
      'breakers',
      (m) => ({ successful: m.numberOfSuccessfulCalls, failed: m.numberOfFailedCalls }),
    );
    perKind(
      Gauge,
      METRIC_NAMES.circuitBreakerSlowCalls,
      'The number of slow calls in the sliding window, by outcome',
      'breakers',
      (m) => ({ successful: m.numberOfSlowSuccessfulCalls, failed: m.numberOfSlowFailedCalls }),
    );
    this.calls = new CallHistogram(
      METRIC_NAMES.circuitBreakerCalls,
      'Duration of the calls the circuit breaker let through, by outcome (this process)',
      callBuckets,
    );
    register.registerMetric(this.calls.asMetric());
    const refused = this.refused;
    scrapedMetric(
      Counter,
      registers,
      METRIC_NAMES.circuitBreakerNotPermittedCalls,
      'Calls the circuit breaker refused (this process)',
      ['name', 'kind'],
      (set) => {
        for (const [name, cell] of refused) set({ name, kind: 'not_permitted' }, cell.n);
      },
    );
    perKind(
      Counter,
      METRIC_NAMES.retryCalls,
      'Calls through the retry, by outcome and whether a retry was needed (this process)',
      'retries',
      (m) => ({
        successful_without_retry: m.numberOfSuccessfulCallsWithoutRetryAttempt,
        successful_with_retry: m.numberOfSuccessfulCallsWithRetryAttempt,
        failed_without_retry: m.numberOfFailedCallsWithoutRetryAttempt,
        failed_with_retry: m.numberOfFailedCallsWithRetryAttempt,
      }),
    );
    perKind(
      Counter,
      METRIC_NAMES.timeLimiterCalls,
      'Calls through the time limiter, by outcome (this process)',
      'timeLimiters',
      (m) => ({
        successful: m.numberOfSuccessfulCalls,
        failed: m.numberOfFailedCalls,
        timeout: m.numberOfTimedOutCalls,
      }),
    );
    perName(
      METRIC_NAMES.rateLimiterAvailablePermissions,
      'The permits the rate limiter can hand out now',
      'limiters',
      (m) => m.availablePermissions,
    );
    perName(
      METRIC_NAMES.rateLimiterWaitingThreads,
      'Callers waiting for a rate limiter permit (this process)',
      'limiters',
      (m) => m.numberOfWaitingCalls,
    );
    perName(
      METRIC_NAMES.bulkheadAvailableConcurrentCalls,
      'The free slots of the bulkhead',
      'bulkheads',
      (m) => m.availableConcurrentCalls,
    );
    perName(
      METRIC_NAMES.bulkheadMaxAllowedConcurrentCalls,
      'The slots of the bulkhead',
      'bulkheads',
      (m) => m.maxAllowedConcurrentCalls,
    );
  }

  /** Starts reporting `policy` (counted: a policy tracked twice is reported once). */
  track(policy: Policy): void {
    const entry = this.tracked.get(policy);
    if (entry !== undefined) {
      entry.refs++;
      return;
    }
    let off: Unsubscribe | undefined;
    if (policy.kind === 'circuitbreaker') off = policy.onEvent(this.breakerListener(policy.name));
    this.tracked.set(policy, { refs: 1, off });
  }

  /** Stops reporting `policy` once every handle that tracked it has let it go. */
  untrack(policy: Policy): void {
    const entry = this.tracked.get(policy);
    if (entry === undefined || --entry.refs > 0) return;
    this.tracked.delete(policy);
    entry.off?.();
    const refused = policy.kind === 'circuitbreaker' ? this.refused.get(policy.name) : undefined;
    if (refused !== undefined && --refused.refs === 0) {
      // the last breaker of that name: its series go
      this.refused.delete(policy.name);
      this.calls.remove({ name: policy.name });
    }
  }

  protected override stopFollowing(): void {
    for (const entry of this.tracked.values()) entry.off?.();
    this.tracked.clear();
  }

  /**
   * Event listener of one breaker. Its series are looked up once, here (they exist at 0 from the
   * start, so that rate() sees the first calls); per call it only bumps numbers.
   */
  private breakerListener(name: string): (event: CircuitBreakerEvent) => void {
    const calls = this.calls;
    const successful = calls.cell({ name, kind: 'successful' });
    const failed = calls.cell({ name, kind: 'failed' });
    const ignored = calls.cell({ name, kind: 'ignored' });
    let refused = this.refused.get(name);
    if (refused === undefined) {
      refused = { n: 0, refs: 0 };
      this.refused.set(name, refused);
    }
    refused.refs++;
    const notPermitted = refused;
    return (event) => {
      switch (event.type) {
        case 'SUCCESS':
          calls.observe(successful, event.durationMs / 1000);
          break;
        case 'ERROR':
          calls.observe(failed, event.durationMs / 1000);
          break;
        case 'IGNORED_ERROR':
          calls.observe(ignored, event.durationMs / 1000);
          break;
        case 'NOT_PERMITTED':
          notPermitted.n++;
          break;
        default:
      }
    };
  }

  private policies<K extends PolicyKind>(kind: K): PolicyOf<K>[] {
    const out: PolicyOf<K>[] = [];
    for (const p of this.tracked.keys()) if (p.kind === kind) out.push(p as PolicyOf<K>);
    return out;
  }

  private async readAll(): Promise<Reading> {
    const settle = <T>(p: Promise<T>): Promise<T | undefined> => p.then(undefined, () => undefined);
    const breakers = Promise.all(
      this.policies('circuitbreaker').map(async (cb) => {
        // Both reads go out in the same tick: a Redis store answers them in one round trip.
        const [state, metrics] = await Promise.all([settle(cb.getState()), settle(cb.getMetrics())]);
        return state === undefined || metrics === undefined ? undefined : { name: cb.name, state, metrics };
      }),
    );
    const metricsOf = <M>(policies: readonly { readonly name: string; getMetrics(): Promise<M> }[]) =>
      Promise.all(
        policies.map(async (p) => {
          const metrics = await settle(p.getMetrics());
          return metrics === undefined ? undefined : { name: p.name, metrics };
        }),
      );
    const limiters = metricsOf(this.policies('ratelimiter'));
    const bulkheads = metricsOf(this.policies('bulkhead'));
    const retries = metricsOf(this.policies('retry'));
    const timeLimiters = metricsOf(this.policies('timelimiter'));
    const defined = <T>(list: (T | undefined)[]): T[] => list.filter((x): x is T => x !== undefined);
    return {
      breakers: defined(await breakers),
      limiters: defined(await limiters),
      bulkheads: defined(await bulkheads),
      retries: defined(await retries),
      timeLimiters: defined(await timeLimiters),
    };
  }
}
