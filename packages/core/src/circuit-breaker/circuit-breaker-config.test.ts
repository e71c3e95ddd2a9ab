import {
  CIRCUIT_BREAKER_DEFAULTS,
  CircuitBreaker,
  type CircuitBreakerConfig,
  ConfigError,
  ErrorVerdict,
} from '@breakwater/core';
import { resolveCircuitBreakerConfig } from '@breakwater/core/engine';
import { describe, expect, it } from 'vitest';

function configError(config: unknown): ConfigError {
  try {
    CircuitBreaker.of('cfg', config as CircuitBreakerConfig);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(config)}`);
}

/** Checks that `config` makes a breaker without complaint. */
function expectAccepted(config: CircuitBreakerConfig): void {
  expect(() => CircuitBreaker.of('ok', config)).not.toThrow();
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

describe('ConfigError', () => {
  it('names the field, the value and what is allowed', () => {
    const e = configError({ slidingWindowSize: -5 });
    expect(e.name).toBe('ConfigError');
    expect(e.field).toBe('slidingWindowSize');
    expect(e.value).toBe(-5);
    expect(e.allowed).toMatch(/integer/);
    expect(e.message).toContain('slidingWindowSize');
    expect(e.message).toContain('-5');
    expect(e.message).toContain(e.allowed);
    expect(e.message).toContain("'cfg'");
  });

  it('rejects an unknown key, naming it', () => {
    const e = configError({ slidingWindowSize: 10, failureRateTreshold: 50 });
    expect(e.field).toBe('failureRateTreshold');
    expect(e.value).toBe(50);
    expect(e.allowed).toContain('failureRateThreshold');
  });

  it('rejects a config that is not an object', () => {
    for (const bad of ['fast', 42, [1, 2], true]) {
      expect(configError(bad).field).toBe('(config)');
    }
  });

  it.each([
    ['slidingWindowSize', -1],
    ['slidingWindowSize', 0],
    ['slidingWindowSize', 2.5],
    ['slidingWindowSize', Number.POSITIVE_INFINITY],
    ['slidingWindowSize', Number.NaN],
    ['minimumNumberOfCalls', -3],
    ['minimumNumberOfCalls', 0],
    ['permittedNumberOfCallsInHalfOpenState', -1],
    ['permittedNumberOfCallsInHalfOpenState', 0],
    ['waitDurationInOpenState', -1000],
    ['waitDurationInOpenState', 0],
    ['slowCallDurationThreshold', -1],
    ['slowCallDurationThreshold', 0],
    ['maxWaitDurationInHalfOpenState', -1],
    ['failureCountThreshold', -1],
    ['failureCountThreshold', 0],
    ['consecutiveFailureThreshold', -2],
    ['consecutiveFailureThreshold', 1.5],
  ])('rejects %s = %s', (field, value) => {
    const e = configError({ [field]: value });
    expect(e.field).toBe(field);
    expect(e.value).toBe(value);
    expect(e.allowed.length).toBeGreaterThan(0);
  });

  it.each([
    ['failureRateThreshold', 0],
    ['failureRateThreshold', -10],
    ['failureRateThreshold', 100.01],
    ['failureRateThreshold', 150],
    ['failureRateThreshold', Number.NaN],
    ['slowCallRateThreshold', 0],
    ['slowCallRateThreshold', 101],
  ])('rejects a threshold outside (0, 100]: %s = %s', (field, value) => {
    const e = configError({ [field]: value });
    expect(e.field).toBe(field);
    expect(e.value).toBe(value);
    expect(e.allowed).toContain('(0, 100]');
  });

  it.each([
    ['failureRateThreshold', 100],
    ['failureRateThreshold', 0.5],
    ['slowCallRateThreshold', 100],
  ])('accepts a threshold inside (0, 100]: %s = %s', (field, value) => {
    expectAccepted({ [field]: value });
  });

  it.each([
    ['slidingWindowSize', '100'],
    ['slidingWindowType', 'SESSION_BASED'],
    ['slidingWindowType', 'count_based'],
    ['failureRateThreshold', '50'],
    ['automaticTransitionFromOpenToHalfOpenEnabled', 'true'],
    ['automaticTransitionFromOpenToHalfOpenEnabled', 1],
    ['transitionToStateAfterWaitDuration', 'HALF_OPEN'],
    ['halfOpenPolicy', 'majority'],
    ['waitIntervalFunctionInOpenState', 1000],
    ['recordResult', true],
    ['recordExceptions', 'Error'],
    ['recordExceptions', [Error, 'TypeError']],
    ['ignoreExceptions', {}],
    ['waitDurationInOpenState', '60s'],
    ['maxWaitDurationInHalfOpenState', null],
  ])('rejects a wrong type: %s = %s', (field, value) => {
    const e = configError({ [field]: value });
    expect(e.field).toBe(field);
    expect(e.value).toEqual(value);
  });

  it('rejects both waitDurationInOpenState and waitIntervalFunctionInOpenState', () => {
    const e = configError({ waitDurationInOpenState: 1000, waitIntervalFunctionInOpenState: () => 1000 });
    expect(['waitDurationInOpenState', 'waitIntervalFunctionInOpenState']).toContain(e.field);
    expect(e.allowed).toMatch(/one of the two|waitDurationInOpenState/);
  });

  it('rejects successThresholdInHalfOpenState above the permitted number', () => {
    const e = configError({
      halfOpenPolicy: 'successes',
      permittedNumberOfCallsInHalfOpenState: 3,
      successThresholdInHalfOpenState: 4,
    });
    expect(e.field).toBe('successThresholdInHalfOpenState');
    expect(e.value).toBe(4);
    expect(e.allowed).toContain('3');
    expectAccepted({
      halfOpenPolicy: 'successes',
      permittedNumberOfCallsInHalfOpenState: 3,
      successThresholdInHalfOpenState: 3,
    });
  });

  it('rejects successThresholdInHalfOpenState below 1', () => {
    expect(configError({ halfOpenPolicy: 'successes', successThresholdInHalfOpenState: 0 }).field).toBe(
      'successThresholdInHalfOpenState',
    );
  });

  it('rejects failureCountThreshold above a COUNT_BASED window size', () => {
    const e = configError({ slidingWindowSize: 10, failureCountThreshold: 11 });
    expect(e.field).toBe('failureCountThreshold');
    expect(e.value).toBe(11);
    expect(e.allowed).toContain('10');
    expectAccepted({ slidingWindowSize: 10, failureCountThreshold: 10 });
    // A TIME_BASED window holds any number of calls.
    expectAccepted({ slidingWindowType: 'TIME_BASED', slidingWindowSize: 10, failureCountThreshold: 11 });
  });

  it('rejects a bad name', () => {
    for (const name of ['', 'a\nb', 'x'.repeat(257)]) {
      const e = (() => {
        try {
          CircuitBreaker.of(name);
        } catch (error) {
          return error as ConfigError;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(ConfigError);
      expect(e?.field).toBe('name');
    }
  });
});

describe("the caller's config", () => {
  it('is not mutated (a deeply frozen config is accepted and read as given)', () => {
    class MyError extends Error {}
    const config = deepFreeze({
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 30,
      minimumNumberOfCalls: 5,
      failureRateThreshold: 25,
      recordExceptions: [MyError, TypeError],
      ignoreExceptions: (e: unknown) => e === 'ignored',
      waitIntervalFunctionInOpenState: (n: number) => n * 1000,
      halfOpenPolicy: 'successes',
      successThresholdInHalfOpenState: 3,
    } as const);
    const before = { ...config, recordExceptions: [...config.recordExceptions] };
    const cb = CircuitBreaker.of('frozen', config);
    expect(config).toEqual(before);
    expect(cb.config).toMatchObject({
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 30,
      minimumNumberOfCalls: 5,
      failureRateThreshold: 25,
      halfOpenPolicy: 'successes',
      successThresholdInHalfOpenState: 3,
    });
    expect(cb.config.waitDurationFor(2)).toBe(2000);
    expect(cb.config.classifyError(new MyError())).toBe(ErrorVerdict.Failure);
    expect(cb.config.classifyError(new RangeError())).toBe(ErrorVerdict.Success);
    expect(cb.config.classifyError('ignored')).toBe(ErrorVerdict.Ignored);
  });

  it('is not kept: changing it later changes nothing', () => {
    const classes: (typeof Error)[] = [TypeError];
    const config = { slidingWindowSize: 10, recordExceptions: classes };
    const cb = CircuitBreaker.of('copy', config);
    config.slidingWindowSize = 99;
    classes.push(RangeError);
    expect(cb.config.slidingWindowSize).toBe(10);
    expect(cb.config.classifyError(new RangeError())).toBe(ErrorVerdict.Success);
  });

  it('the resolved settings are frozen', () => {
    const cb = CircuitBreaker.of('settings', {});
    expect(Object.isFrozen(cb.config)).toBe(true);
  });
});

describe('defaults', () => {
  /**
   * Resilience4j's CircuitBreakerConfig defaults, in the order of the configuration table in its
   * documentation (transitionToStateAfterWaitDuration, added later, last), to read against it.
   */
  const RESILIENCE4J_DEFAULTS = {
    failureRateThreshold: 50,
    slowCallRateThreshold: 100,
    slowCallDurationThreshold: 60_000,
    permittedNumberOfCallsInHalfOpenState: 10,
    maxWaitDurationInHalfOpenState: 0,
    slidingWindowType: 'COUNT_BASED',
    slidingWindowSize: 100,
    minimumNumberOfCalls: 100,
    waitDurationInOpenState: 60_000,
    automaticTransitionFromOpenToHalfOpenEnabled: false,
    transitionToStateAfterWaitDuration: 'OPEN',
  };

  it("equal Resilience4j's CircuitBreakerConfig defaults", () => {
    const c = CircuitBreaker.ofDefaults('defaults').config;
    expect(c).toMatchObject({
      ...RESILIENCE4J_DEFAULTS,
      failureCountThreshold: 0,
      consecutiveFailureThreshold: 0,
      halfOpenPolicy: 'rate',
      successThresholdInHalfOpenState: 10,
      recordResult: undefined,
      hasWaitIntervalFunction: false,
    });
    expect(c.waitDurationFor(1)).toBe(60_000);
    expect(c.waitDurationFor(7)).toBe(60_000);
    // record all, ignore none
    expect(c.classifyError(new Error('x'))).toBe(ErrorVerdict.Failure);
    expect(c.classifyError('anything')).toBe(ErrorVerdict.Failure);
    expect(c.classifyError(undefined)).toBe(ErrorVerdict.Failure);
  });

  it('CIRCUIT_BREAKER_DEFAULTS lists the same values and is frozen', () => {
    expect(Object.isFrozen(CIRCUIT_BREAKER_DEFAULTS)).toBe(true);
    expect(CIRCUIT_BREAKER_DEFAULTS).toEqual({ ...RESILIENCE4J_DEFAULTS, halfOpenPolicy: 'rate' });
  });

  it('undefined, null and {} all mean the defaults', () => {
    const d = resolveCircuitBreakerConfig(undefined);
    for (const c of [null, {}, { slidingWindowSize: undefined }]) {
      const r = resolveCircuitBreakerConfig(c);
      expect({ ...r, waitDurationFor: 0, classifyError: 0 }).toEqual({
        ...d,
        waitDurationFor: 0,
        classifyError: 0,
      });
    }
  });
});
