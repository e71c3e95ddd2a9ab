import type { CircuitBreaker, Unsubscribe } from '@breakwater/core';
import { Counter, register as defaultRegister, Gauge, type Registry } from 'prom-client';
import { CallHistogram, type HistogramCell } from './call-histogram.js';
import type { MetricsHandle } from './collect-metrics.js';
import { DEFAULT_CALL_BUCKETS, METRIC_NAMES } from './names.js';
import { PolicyMetrics } from './policy-metrics.js';
import { readOncePerScrape, type SetSeries, scrapedMetric } from './scraped-metric.js';
import { metricsHandle, SharedExporter } from './shared-exporter.js';

/** What a cache counted, as `Cache.getMetrics()` of @breakwater/cache answers. */
export interface CacheMetricsReading {
  readonly l1Hits: number;
  readonly l1Misses: number;
  readonly l2Hits: number;
  readonly l2Misses: number;
  readonly l2NotPermitted: number;
  readonly l2Errors: Readonly<Record<string, number>>;
  readonly writeBackFailures: number;
  readonly staleServed: number;
  readonly l1Entries: number;
}

/**
 * What `collectCacheMetrics` reads of a cache: `Cache` from @breakwater/cache, matched by shape
 * (this package does not depend on it).
 */
export interface ObservableCache {
  readonly name: string;
  getMetrics(): Promise<CacheMetricsReading>;
  /** Loader calls, for their durations. */
  on(
    type: 'LOADED' | 'LOADER_ERROR',
    listener: (event: { readonly durationMs: number }) => void,
  ): Unsubscribe;
  /** The breaker guarding the shared tier: reported with the breakers' metrics. */
  readonly breaker?: CircuitBreaker;
}

export interface CollectCacheMetricsOptions {
  /** The prom-client registry. Default: prom-client's global `register`. */
  readonly register?: Registry;
  /** Buckets of `breakwater_cache_loader_duration_seconds`, in seconds. Default 1 ms to 60 s. The first call on a registry decides. */
  readonly loaderBuckets?: readonly number[];
}

/** Values of the `type` label of `breakwater_cache_l2_errors_total` (see CacheTierError). */
const L2_ERROR_TYPES = ['timeout', 'connection', 'reply', 'closed'] as const;

const CACHE_METRIC_NAMES = Object.values(METRIC_NAMES).filter((n) => n.startsWith('breakwater_cache_'));

/** The counts of a reading that are one number. */
type CountOf = Exclude<keyof CacheMetricsReading, 'l2Errors'>;

interface Tracked {
  refs: number;
  readonly offs: Unsubscribe[];
}

/**
 * The cache metrics of one prom-client registry, shared by every `collectCacheMetrics` call on
 * it. Counters are read from the caches' own counters at scrape time (a hit costs the call path
 * one addition); loader durations come from the caches' LOADED and LOADER_ERROR events, built only
 * for loads.
 */
class CacheMetrics extends SharedExporter {
  static readonly acquire = SharedExporter.perRegistry(
    (register, buckets: readonly number[] | undefined) => new CacheMetrics(register, buckets),
  );

  readonly caches = new Map<ObservableCache, Tracked>();
  private readonly loads: CallHistogram;
  /** Every cache's counters, read once per scrape (prom-client collects every metric at once). */
  private readonly read = readOncePerScrape(() =>
    Promise.all(
      [...this.caches.keys()].map(async (cache) => ({ name: cache.name, m: await cache.getMetrics() })),
    ),
  );

  private constructor(register: Registry, buckets: readonly number[] = DEFAULT_CALL_BUCKETS) {
    super(register, CACHE_METRIC_NAMES);
    const { registers, read } = this;
    /** A metric of every cache: `each` writes the series of one. */
    const perCache = (
      name: string,
      help: string,
      labelNames: readonly string[],
      each: (set: SetSeries, name: string, m: CacheMetricsReading) => void,
      Kind: typeof Counter | typeof Gauge = Counter,
    ) =>
      scrapedMetric(Kind, registers, name, help, ['name', ...labelNames], async (set) => {
        for (const { name: cache, m } of await read()) each(set, cache, m);
      });
    /** A counter of every cache per tier, of its `l1` and `l2` counts. */
    const perTier = (name: string, help: string, l1: CountOf, l2: CountOf) =>
      perCache(name, help, ['tier'], (set, name, m) => {
        set({ name, tier: 'l1' }, m[l1]);
        set({ name, tier: 'l2' }, m[l2]);
      });
    perTier(
      METRIC_NAMES.cacheHits,
      'Gets answered by a fresh entry of a tier (this process)',
      'l1Hits',
      'l2Hits',
    );
    perTier(
      METRIC_NAMES.cacheMisses,
      'Gets a tier could not answer with a fresh entry (this process)',
      'l1Misses',
      'l2Misses',
    );
    perCache(
      METRIC_NAMES.cacheStaleServed,
      'Answers given from a stale entry within grace (this process)',
      [],
      (set, name, m) => set({ name }, m.staleServed),
    );
    perCache(
      METRIC_NAMES.cacheL2Errors,
      'Shared-tier (Redis) operations that failed, by cause (this process)',
      ['type'],
      (set, name, m) => {
        for (const type of L2_ERROR_TYPES) set({ name, type }, m.l2Errors[type] ?? 0);
      },
    );
    perCache(
      METRIC_NAMES.cacheL2NotPermitted,
      'Shared-tier operations skipped because its breaker was open (this process)',
      [],
      (set, name, m) => set({ name }, m.l2NotPermitted),
    );
    perCache(
      METRIC_NAMES.cacheWriteBackFailures,
      'Loaded values that did not reach the shared tier (this process)',
      [],
      (set, name, m) => set({ name }, m.writeBackFailures),
    );
    perCache(
      METRIC_NAMES.cacheEntries,
      'Entries in the in-process tier (this process)',
      ['tier'],
      (set, name, m) => set({ name, tier: 'l1' }, m.l1Entries),
      Gauge,
    );
    this.loads = new CallHistogram(
      METRIC_NAMES.cacheLoaderDuration,
      'Duration of the loader calls, by outcome (this process)',
      buckets,
    );
    register.registerMetric(this.loads.asMetric());
  }

  track(cache: ObservableCache): void {
    const tracked = this.caches.get(cache);
    if (tracked !== undefined) {
      tracked.refs++;
      return;
    }
    // Series exist at 0 from the start, so that rate() sees the first loads.
    const successful = this.loads.cell({ name: cache.name, kind: 'successful' });
    const failed = this.loads.cell({ name: cache.name, kind: 'failed' });
    const observe = (cell: HistogramCell) => (e: { readonly durationMs: number }) =>
      this.loads.observe(cell, e.durationMs / 1000);
    this.caches.set(cache, {
      refs: 1,
      offs: [cache.on('LOADED', observe(successful)), cache.on('LOADER_ERROR', observe(failed))],
    });
  }

  untrack(cache: ObservableCache): void {
    const tracked = this.caches.get(cache);
    if (tracked === undefined || --tracked.refs > 0) return;
    this.caches.delete(cache);
    for (const off of tracked.offs) off();
    if (![...this.caches.keys()].some((c) => c.name === cache.name)) this.loads.remove({ name: cache.name });
  }

  protected override stopFollowing(): void {
    for (const tracked of this.caches.values()) for (const off of tracked.offs) off();
    this.caches.clear();
  }
}

/**
 * Reports caches (`Cache` from @breakwater/cache): hits and misses per tier
 * (`breakwater_cache_hits_total{name,tier}`, `breakwater_cache_misses_total{name,tier}`), loader
 * calls and their latency (`breakwater_cache_loader_duration_seconds{name,kind}`), stale answers,
 * shared-tier errors by cause and operations skipped while its breaker was open, failed
 * write-backs, and L1 entries; and the breaker guarding each cache's shared tier, with the
 * breakers' own metrics (`resilience4j_circuitbreaker_state{name="cache:users"}`, ...).
 */
export function collectCacheMetrics(
  source: ObservableCache | readonly ObservableCache[],
  options: CollectCacheMetricsOptions = {},
): MetricsHandle {
  const caches: readonly ObservableCache[] = Array.isArray(source) ? source : [source as ObservableCache];
  caches.forEach((cache, i) => {
    const c = cache as Partial<ObservableCache> | null;
    if (typeof c?.getMetrics !== 'function' || typeof c.on !== 'function' || typeof c.name !== 'string') {
      throw new TypeError(
        `collectCacheMetrics: source${i === 0 ? '' : ` #${i}`} is not a Cache (@breakwater/cache)`,
      );
    }
  });
  const register = options.register ?? defaultRegister;
  const exporter = CacheMetrics.acquire(register, options.loaderBuckets);
  const breakers = caches.some((c) => c.breaker !== undefined)
    ? PolicyMetrics.acquire(register, undefined)
    : undefined;
  for (const cache of caches) {
    exporter.track(cache);
    if (cache.breaker !== undefined) breakers?.track(cache.breaker);
  }
  return metricsHandle(
    register,
    caches.map((cache) => () => {
      exporter.untrack(cache);
      if (cache.breaker !== undefined) breakers?.untrack(cache.breaker);
    }),
    () => {
      exporter.release();
      breakers?.release();
    },
  );
}
