import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.js';
import type { RateLimiterEvent } from './rate-limiter-events.js';
import { RateLimiterRegistry } from './rate-limiter-registry.js';

describe('RateLimiterRegistry', () => {
  it('returns one instance per name, built from named configs over the default', () => {
    const registry = RateLimiterRegistry.of({
      configs: { default: { limitForPeriod: 7 }, strict: { timeoutDuration: 0 } },
    });
    const a = registry.rateLimiter('a');
    expect(registry.rateLimiter('a', { limitForPeriod: 1 })).toBe(a);
    expect(a.config.limitForPeriod).toBe(7);
    const s = registry.rateLimiter('s', 'strict');
    expect(s.config).toMatchObject({ limitForPeriod: 7, timeoutDuration: 0 });
    expect(registry.rateLimiter('o', { algorithm: 'gcra' }).config).toMatchObject({
      algorithm: 'gcra',
      limitForPeriod: 7,
    });
    expect(registry.getAllRateLimiters().map((r) => r.name)).toEqual(['a', 's', 'o']);
    expect(registry.find('s')).toBe(s);
    expect(() => registry.rateLimiter('x', 'missing')).toThrow(ConfigError);
    expect(RateLimiterRegistry.ofDefaults().rateLimiter('d').config.limitForPeriod).toBe(50);
  });

  it('onEvent follows limiters created later and stops at remove', async () => {
    const registry = RateLimiterRegistry.of({
      configs: { default: { limitForPeriod: 1, timeoutDuration: 0 } },
    });
    const events: RateLimiterEvent[] = [];
    const added: string[] = [];
    registry.onAdded((rl) => added.push(rl.name));
    const off = registry.onEvent((e) => events.push(e));
    const rl = registry.rateLimiter('later');
    await rl.execute(() => 1);
    expect(events.map((e) => `${e.name} ${e.type}`)).toEqual(['later SUCCESSFUL_ACQUIRE']);
    const removed: string[] = [];
    registry.onRemoved((r) => removed.push(r.name));
    expect(registry.remove('later')).toBe(rl);
    expect(registry.remove('later')).toBeUndefined();
    await rl.execute(() => 1).catch(() => {});
    expect(events).toHaveLength(1);
    expect(added).toEqual(['later']);
    expect(removed).toEqual(['later']);
    off();
  });
});
