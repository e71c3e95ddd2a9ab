import { afterEach, describe, expect, it } from 'vitest';
import { type MetricsExample, startMetricsExample } from './service.js';

let example: MetricsExample | undefined;
afterEach(async () => {
  await example?.close();
  example = undefined;
});

describe('metrics example', () => {
  it('serves /metrics with every policy, and its breaker opens while the downstream fails', async () => {
    const log: string[] = [];
    // phases of 800 ms: healthy, failing (80% errors), slow, healthy; the rate limiter lets 25 calls/s through
    example = await startMetricsExample({ port: 0, tickMs: 10, phaseMs: 800, log: (l) => log.push(l) });
    expect(example.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await expect
      .poll(() => log.some((l) => l.startsWith('pricing: CLOSED -> OPEN')), { timeout: 5_000 })
      .toBe(true);

    const res = await fetch(example.url);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const series of [
      'resilience4j_circuitbreaker_state{name="pricing",state="closed"}',
      'resilience4j_circuitbreaker_state{name="inventory",state="closed"} 1',
      'resilience4j_circuitbreaker_calls_seconds_count{name="pricing",kind="failed"}',
      'resilience4j_circuitbreaker_not_permitted_calls_total{name="pricing",kind="not_permitted"}',
      'resilience4j_retry_calls_total{name="pricing",kind="successful_without_retry"}',
      'resilience4j_timelimiter_calls_total{name="pricing",kind="timeout"}',
      'resilience4j_ratelimiter_available_permissions{name="pricing-api"}',
      'resilience4j_bulkhead_available_concurrent_calls{name="pricing"}',
      'process_cpu_user_seconds_total',
    ]) {
      expect(text).toContain(series);
    }
    expect((await fetch(example.url.replace('/metrics', '/other'))).status).toBe(404);
  });
});
