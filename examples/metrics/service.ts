/**
 * A small service whose calls to a flaky "pricing" downstream go through every Breakwater policy,
 * with their metrics served on /metrics for Prometheus. The downstream cycles through phases
 * (healthy, failing, slow, healthy) so that the dashboard has something to show: the breaker
 * opens, probes, closes; retries, timeouts and refusals come and go.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BulkheadRegistry,
  CallNotPermittedError,
  CircuitBreakerRegistry,
  Decorators,
  RateLimiterRegistry,
  RetryRegistry,
  TimeLimiterRegistry,
} from '@breakwater/core';
import {
  collectMetrics,
  collectStoreMetrics,
  type MetricsHandle,
  metricsHandler,
} from '@breakwater/prometheus';
import { RedisStore } from '@breakwater/store-redis';
import { Redis } from 'ioredis';
import { collectDefaultMetrics, Registry } from 'prom-client';

export interface MetricsExampleOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. Default 9464. */
  readonly port?: number;
  /** With a Redis URL, the breakers, the rate limiter and the bulkhead keep their state in Redis (shared by every instance). */
  readonly redisUrl?: string;
  /** Time between two calls to the downstream (ms). Default 50. */
  readonly tickMs?: number;
  /** Length of each phase of the downstream (ms). Default 15,000. */
  readonly phaseMs?: number;
  readonly log?: (line: string) => void;
}

export interface MetricsExample {
  /** Where the metrics are served, e.g. http://127.0.0.1:9464/metrics. */
  readonly url: string;
  readonly register: Registry;
  readonly breakers: CircuitBreakerRegistry;
  close(): Promise<void>;
}

type Phase = 'healthy' | 'failing' | 'slow';
const PHASES: readonly Phase[] = ['healthy', 'failing', 'slow', 'healthy'];

class DownstreamError extends Error {
  override name = 'DownstreamError';
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

export async function startMetricsExample(options: MetricsExampleOptions = {}): Promise<MetricsExample> {
  const log = options.log ?? (() => {});
  const tickMs = options.tickMs ?? 50;
  const phaseMs = options.phaseMs ?? 15_000;
  const startedAt = Date.now();
  const phase = (): Phase => PHASES[Math.floor((Date.now() - startedAt) / phaseMs) % PHASES.length];

  let redis: Redis | undefined;
  let store: RedisStore | undefined;
  if (options.redisUrl !== undefined) {
    redis = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
    redis.on('error', () => {}); // the store reports Redis trouble through its metrics
    store = new RedisStore({ client: redis });
  }

  const breakers = CircuitBreakerRegistry.of({
    store,
    configs: {
      default: {
        slidingWindowSize: 20,
        minimumNumberOfCalls: 10,
        failureRateThreshold: 50,
        slowCallDurationThreshold: 100,
        slowCallRateThreshold: 50,
        waitDurationInOpenState: 5_000,
        permittedNumberOfCallsInHalfOpenState: 3,
        automaticTransitionFromOpenToHalfOpenEnabled: true,
      },
    },
  });
  const retries = RetryRegistry.of({
    configs: { default: { maxAttempts: 3, waitDuration: 20, ignoreExceptions: [CallNotPermittedError] } },
  });
  const rateLimiters = RateLimiterRegistry.of({
    store,
    configs: { default: { limitForPeriod: 25, limitRefreshPeriod: 1_000, timeoutDuration: 0 } },
  });
  const timeLimiters = TimeLimiterRegistry.of({ configs: { default: { timeoutDuration: 300 } } });
  const bulkheads = BulkheadRegistry.of({
    store,
    configs: { default: { maxConcurrentCalls: 4, maxWaitDuration: 0 } },
  });

  const register = new Registry();
  collectDefaultMetrics({ register });
  const handles: MetricsHandle[] = [
    collectMetrics([breakers, retries, rateLimiters, timeLimiters, bulkheads], { register }),
  ];
  if (store !== undefined) handles.push(collectStoreMetrics(store, { register }));

  // The downstream: fast and healthy, failing 80% of calls, or slow (150 ms, past the 100 ms threshold).
  const pricing = async (signal: AbortSignal): Promise<number> => {
    const now = phase();
    await sleep(now === 'slow' ? 150 : 2 + Math.random() * 8, signal);
    if (now === 'failing' && Math.random() < 0.8) throw new DownstreamError('pricing-service: 503');
    return 42;
  };
  const inventory = async (signal: AbortSignal): Promise<number> => {
    await sleep(1 + Math.random() * 4, signal);
    return 7;
  };

  const getPrice = Decorators.ofSupplier(pricing)
    .withBulkhead(bulkheads.bulkhead('pricing'))
    .withTimeLimiter(timeLimiters.timeLimiter('pricing'))
    .withRateLimiter(rateLimiters.rateLimiter('pricing-api'))
    .withCircuitBreaker(breakers.circuitBreaker('pricing'))
    .withRetry(retries.retry('pricing'))
    .withFallback(() => -1)
    .decorate();
  const getStock = Decorators.ofSupplier(inventory)
    .withCircuitBreaker(breakers.circuitBreaker('inventory'))
    .withFallback(() => -1)
    .decorate();

  for (const cb of breakers.getAllCircuitBreakers()) {
    cb.on('STATE_TRANSITION', (e) => log(`${e.name}: ${e.from} -> ${e.to} (${e.reason})`));
  }
  let lastPhase: Phase | undefined;
  const traffic = setInterval(() => {
    const now = phase();
    if (now !== lastPhase) {
      lastPhase = now;
      log(`downstream pricing-service is now ${now}`);
    }
    void getPrice();
    void getStock();
  }, tickMs);

  const server = http.createServer(metricsHandler(register));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;

  return {
    url,
    register,
    breakers,
    async close() {
      clearInterval(traffic);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      for (const h of handles) h.close();
      for (const cb of breakers.getAllCircuitBreakers()) cb.close();
      for (const l of rateLimiters.getAllRateLimiters()) l.close();
      for (const b of bulkheads.getAllBulkheads()) b.close();
      await store?.close();
      redis?.disconnect();
    },
  };
}
