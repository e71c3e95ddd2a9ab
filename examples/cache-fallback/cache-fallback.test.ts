import { describe, expect, it } from 'vitest';
import { logged } from '../scenario.test-support.js';
import { run } from './main.js';

describe('cache-fallback example', () => {
  it('through a Redis outage: no caller error, the breaker opens and closes, one alert per key, at most 6 keys', async () => {
    const { result, lines, ms } = await logged((log) => run({ log, openWaitMs: 300 }));
    expect(ms).toBeLessThan(15_000);

    // every lookup answered, none failed: the database stood in for Redis
    expect(result).toMatchObject({ answered: 55, failed: 0 });
    // healthy: each user loaded once (repeats were L1 hits); outage: the database answered all 20;
    // open: 5 new users from the database, 5 from L1; recovered: 5 new users
    expect(result.queries).toEqual({ healthy: 10, 'outage burst': 20, 'breaker open': 5, recovered: 5 });
    expect(result.transitions).toEqual(['CLOSED->OPEN', 'OPEN->HALF_OPEN', 'HALF_OPEN->CLOSED']);
    // while OPEN the cache did not try Redis
    expect(result.l2Skipped).toBeGreaterThan(0);
    expect(result.l2Errors).toBe(20); // the burst's reads; nothing after the breaker opened
    // and once closed, loaded values reach Redis again
    expect(result.afterRecovery).toMatch(/^bw1\|.*"name":"user 40"/);

    const cacheAlerts = result.alerts.filter((a) => a.type === 'CACHE_ERROR');
    const keys = cacheAlerts.map((a) => a.key);
    expect(keys).toHaveLength(6); // at most 6 keys per window...
    expect(new Set(keys).size).toBe(6); // ...one alert each
    expect(result.alerts.at(-1)).toMatchObject({ type: 'SUPPRESSED', count: 14 });
    expect(result.posted).toHaveLength(7);
    expect(result.posted[0].text).toMatch(
      /^:rotating_light: Cache users: Redis failed for user:\d+ \(connection/,
    );
    expect(lines).toContain('  breaker cache:users: CLOSED -> OPEN');
  }, 30_000);
});
