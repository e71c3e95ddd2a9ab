import { describe, expect, it } from 'vitest';
import {
  BREAKER_CONFIG,
  type BreakerConfigValues,
  describeBreakerConfig,
  packBreakerConfig,
  readStoredConfig,
} from './breaker-config.js';

const VALUES: BreakerConfigValues = {
  ttlMs: 86_400_000,
  windowType: 'COUNT',
  windowSize: 100,
  closedMin: 100,
  halfOpenMin: 10,
  failureRateThreshold: 50,
  slowCallRateThreshold: 100,
  permitted: 10,
  maxWaitHalfOpen: 0,
  afterWaitTarget: 'OPEN',
  automatic: '0',
  failureCountThreshold: 0,
  consecutiveThreshold: 0,
  halfOpenPolicy: 'rate',
  successThreshold: 10,
  leaseMs: 60_000,
  channel: 'bench:events',
  name: 'seq',
  waits: '60000',
};

describe('the packed config', () => {
  it('is the values in BREAKER_CONFIG order, joined by newlines, the origin empty, as a JSON string', () => {
    expect(packBreakerConfig(VALUES)).toBe(
      JSON.stringify(
        '86400000|COUNT|100|100|10|50|100|10|0|OPEN|0|0|0|rate|10|60000|bench:events|seq||60000'.replaceAll(
          '|',
          '\n',
        ),
      ),
    );
  });

  it('reads back by name, from the packed text as stored or from the first format (an array)', () => {
    const stored = JSON.parse(packBreakerConfig(VALUES)) as string;
    const read = readStoredConfig(stored);
    expect(read).toEqual(Object.fromEntries(Object.entries(VALUES).map(([k, v]) => [k, String(v)])));
    expect(readStoredConfig(stored.split('\n'))).toEqual(read);
    // a stored origin (the previous version kept it) is not a config value
    const withOrigin = stored.split('\n');
    withOrigin[BREAKER_CONFIG.findIndex((arg) => arg.name === 'origin')] = 'proc-old';
    expect(readStoredConfig(withOrigin.join('\n'))).toEqual(read);
  });

  it('reads nothing from a config of another shape', () => {
    expect(readStoredConfig(undefined)).toBeUndefined();
    expect(readStoredConfig({ ttlMs: 1 })).toBeUndefined();
    expect(readStoredConfig('1\n2')).toBeUndefined();
    expect(readStoredConfig([1, null])).toBeUndefined();
  });

  it('shows the breaker settings it carries as users name them', () => {
    expect(
      describeBreakerConfig({ ...VALUES, windowType: 'TIME', automatic: '1', waits: '1000,2000' }),
    ).toEqual({
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: '100',
      minimumNumberOfCalls: '100',
      failureRateThreshold: '50',
      slowCallRateThreshold: '100',
      permittedNumberOfCallsInHalfOpenState: '10',
      maxWaitDurationInHalfOpenState: '0',
      automaticTransitionFromOpenToHalfOpenEnabled: 'true',
      failureCountThreshold: '0',
      consecutiveFailureThreshold: '0',
      halfOpenPolicy: 'rate',
      waitDurationInOpenState: '1000,2000',
    });
  });
});
