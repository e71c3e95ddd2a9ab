/**
 * Every error a policy throws names the policy the same way (`policyKind`, `policyName`), beside
 * the per-policy field it always had (`circuitBreakerName`, `bulkheadName`, ...). Each error here
 * is produced by the policy itself, as a user would meet it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead } from '../bulkhead/bulkhead.js';
import { BulkheadRegistry } from '../bulkhead/bulkhead-registry.js';
import { CircuitBreaker } from '../circuit-breaker/circuit-breaker.js';
import type { CircuitBreakerEvent } from '../circuit-breaker/circuit-breaker-events.js';
import { CircuitBreakerRegistry } from '../circuit-breaker/circuit-breaker-registry.js';
import { RateLimiter } from '../rate-limiter/rate-limiter.js';
import { Retry } from '../retry/retry.js';
import { TimeLimiter } from '../time-limiter/time-limiter.js';
import { ConfigReader } from './config-reader.js';
import {
  BreakwaterError,
  BulkheadFullError,
  CallNotPermittedError,
  ConfigError,
  IllegalStateTransitionError,
  MaxRetriesExceededError,
  RequestNotPermittedError,
  ResultRecordedAsFailureError,
  RetryIntervalError,
  TimeoutError,
} from './errors.js';
import { rejectionOf } from './rejection.test-support.js';

/** What `create` throws, which it must. */
function thrownBy(create: () => unknown): unknown {
  try {
    create();
  } catch (error) {
    return error;
  }
  return expect.fail('expected a throw');
}

/**
 * Checks that `error` names its policy by kind and name, and by name again in `nameField`, the
 * per-policy field, where the error has one.
 */
function expectNamesPolicy(error: unknown, policyKind: string, policyName: string, nameField?: string): void {
  expect(error).toBeInstanceOf(BreakwaterError);
  expect(error).toMatchObject({ policyKind, policyName, ...(nameField && { [nameField]: policyName }) });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('policyKind and policyName on the errors policies throw', () => {
  it('CallNotPermittedError (and circuitBreakerName, as before)', async () => {
    const cb = CircuitBreaker.of('payments');
    await cb.transitionToForcedOpenState();
    const error = await rejectionOf(cb.execute(() => 'never'));
    expect(error).toBeInstanceOf(CallNotPermittedError);
    expectNamesPolicy(error, 'circuitbreaker', 'payments', 'circuitBreakerName');
  });

  it('IllegalStateTransitionError', async () => {
    const cb = CircuitBreaker.of('payments');
    await cb.transitionToMetricsOnlyState();
    const error = await rejectionOf(cb.transitionToOpenState());
    expect(error).toBeInstanceOf(IllegalStateTransitionError);
    expectNamesPolicy(error, 'circuitbreaker', 'payments');
  });

  it('ResultRecordedAsFailureError, in the ERROR event', async () => {
    const cb = CircuitBreaker.of('payments', { recordResult: (r) => r === 503 });
    const errors: unknown[] = [];
    cb.on('ERROR', (e: Extract<CircuitBreakerEvent, { type: 'ERROR' }>) => errors.push(e.error));
    await cb.execute(() => 503);
    expect(errors[0]).toBeInstanceOf(ResultRecordedAsFailureError);
    expectNamesPolicy(errors[0], 'circuitbreaker', 'payments');
  });

  it('BulkheadFullError', async () => {
    const bulkhead = Bulkhead.of('reports', { maxConcurrentCalls: 1 });
    let finish = () => {};
    const running = bulkhead.execute(() => new Promise<void>((resolve) => (finish = resolve)));
    const error = await rejectionOf(bulkhead.execute(() => 'never'));
    finish();
    await running;
    expect(error).toBeInstanceOf(BulkheadFullError);
    expectNamesPolicy(error, 'bulkhead', 'reports', 'bulkheadName');
  });

  it('RequestNotPermittedError', async () => {
    const limiter = RateLimiter.of('exchange', { limitForPeriod: 1, timeoutDuration: 0 });
    await limiter.execute(() => 'first');
    const error = await rejectionOf(limiter.execute(() => 'never'));
    expect(error).toBeInstanceOf(RequestNotPermittedError);
    expectNamesPolicy(error, 'ratelimiter', 'exchange', 'rateLimiterName');
  });

  it('TimeoutError', async () => {
    vi.useFakeTimers();
    const tl = TimeLimiter.of('search', { timeoutDuration: 100 });
    const pending = rejectionOf(tl.execute(() => new Promise(() => {})));
    await vi.advanceTimersByTimeAsync(100);
    const error = await pending;
    expect(error).toBeInstanceOf(TimeoutError);
    expectNamesPolicy(error, 'timelimiter', 'search', 'timeLimiterName');
  });

  it('MaxRetriesExceededError', async () => {
    const retry = Retry.of('upbit', {
      maxAttempts: 2,
      waitDuration: 0,
      retryOnResult: () => true,
      failAfterMaxAttempts: true,
    });
    const error = await rejectionOf(retry.execute(() => 'bad'));
    expect(error).toBeInstanceOf(MaxRetriesExceededError);
    expectNamesPolicy(error, 'retry', 'upbit', 'retryName');
  });

  it('RetryIntervalError', async () => {
    const retry = Retry.of('upbit', { maxAttempts: 2, intervalFunction: () => Number.NaN });
    const error = await rejectionOf(
      retry.execute(() => {
        throw new Error('down');
      }),
    );
    expect(error).toBeInstanceOf(RetryIntervalError);
    expectNamesPolicy(error, 'retry', 'upbit', 'retryName');
  });
});

describe('policyKind and policyName on ConfigError', () => {
  it.each([
    [
      'a CircuitBreaker config',
      () => CircuitBreaker.of('cb', { slidingWindowSize: 0 }),
      'circuitbreaker',
      'cb',
    ],
    ['a Retry config', () => Retry.of('r', { maxAttempts: 0 }), 'retry', 'r'],
    ['a RateLimiter config', () => RateLimiter.of('rl', { limitForPeriod: 0 }), 'ratelimiter', 'rl'],
    ['a TimeLimiter config', () => TimeLimiter.of('tl', { timeoutDuration: -1 }), 'timelimiter', 'tl'],
    ['a Bulkhead config', () => Bulkhead.of('b', { maxConcurrentCalls: -1 }), 'bulkhead', 'b'],
    ['a clock option', () => Retry.of('r', {}, { clock: {} as never }), 'retry', 'r'],
    [
      'a config name a registry does not know',
      () => BulkheadRegistry.of().bulkhead('b', 'nope'),
      'bulkhead',
      'b',
    ],
  ] as const)('%s names its policy', (_what, create, kind, name) => {
    const error = thrownBy(create);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ policyKind: kind, policyName: name });
  });

  it('a rejected name names the kind only', () => {
    const error = thrownBy(() => CircuitBreaker.of(''));
    expect(error).toMatchObject({ field: 'name', policyKind: 'circuitbreaker', policyName: undefined });
  });

  it("a registry's own configs name the kind only", () => {
    const error = thrownBy(() => CircuitBreakerRegistry.of({ configs: 'strict' as never }));
    expect(error).toMatchObject({ field: 'configs', policyKind: 'circuitbreaker', policyName: undefined });
  });

  it('options of something that is not a policy (a store, a sink) name none', () => {
    const error = thrownBy(() => new ConfigReader('MemoryStore options', { maxSize: 1 }, []));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ policyKind: undefined, policyName: undefined });
  });
});
