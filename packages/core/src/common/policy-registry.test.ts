/**
 * The five registries share one interface (`Registry`) and the five policies one shape (`Policy`),
 * so code that handles any of them (metrics, event streams) needs no `instanceof`.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Bulkhead } from '../bulkhead/bulkhead.js';
import type { BulkheadEvent } from '../bulkhead/bulkhead-events.js';
import { BulkheadRegistry } from '../bulkhead/bulkhead-registry.js';
import type { CircuitBreaker } from '../circuit-breaker/circuit-breaker.js';
import type { CircuitBreakerEvent } from '../circuit-breaker/circuit-breaker-events.js';
import { CircuitBreakerRegistry } from '../circuit-breaker/circuit-breaker-registry.js';
import type { RateLimiter } from '../rate-limiter/rate-limiter.js';
import type { RateLimiterEvent } from '../rate-limiter/rate-limiter-events.js';
import { RateLimiterRegistry } from '../rate-limiter/rate-limiter-registry.js';
import type { Retry } from '../retry/retry.js';
import type { RetryEvent } from '../retry/retry-events.js';
import { RetryRegistry } from '../retry/retry-registry.js';
import type { TimeLimiter } from '../time-limiter/time-limiter.js';
import type { TimeLimiterEvent } from '../time-limiter/time-limiter-events.js';
import { TimeLimiterRegistry } from '../time-limiter/time-limiter-registry.js';
import type { Policy, Registry } from './policy.js';
import type { PolicyKind } from './types.js';

type AnyPolicy = CircuitBreaker | Retry | RateLimiter | TimeLimiter | Bulkhead;

interface Case {
  readonly kind: PolicyKind;
  /** A fresh registry and its factory method, as a user calls it. */
  readonly create: () => { registry: Registry<AnyPolicy>; make: (name: string) => AnyPolicy };
  /** A call that publishes at least one event. */
  readonly use: (policy: AnyPolicy) => Promise<unknown>;
}

const run = (policy: AnyPolicy) => (policy as CircuitBreaker).execute(() => 'ok');

/** The case of a registry made by `registries.ofDefaults()`, whose factory method `make` calls. */
function defaultsCase<R extends Registry<AnyPolicy>>(
  kind: PolicyKind,
  registries: { ofDefaults(): R },
  make: (registry: R, name: string) => AnyPolicy,
): Case {
  return {
    kind,
    create: () => {
      const r = registries.ofDefaults();
      return { registry: r, make: (name) => make(r, name) };
    },
    use: run,
  };
}

const CASES: readonly Case[] = [
  defaultsCase('circuitbreaker', CircuitBreakerRegistry, (r, n) => r.circuitBreaker(n)),
  {
    kind: 'retry',
    create: () => {
      const r = RetryRegistry.of({ configs: { default: { maxAttempts: 2, waitDuration: 0 } } });
      return { registry: r, make: (n) => r.retry(n) };
    },
    // A retry publishes on a retried call: fail once, then succeed.
    use: (policy) => {
      let calls = 0;
      return (policy as Retry).execute(() => {
        if (calls++ === 0) throw new Error('once');
        return 'ok';
      });
    },
  },
  defaultsCase('ratelimiter', RateLimiterRegistry, (r, n) => r.rateLimiter(n)),
  defaultsCase('timelimiter', TimeLimiterRegistry, (r, n) => r.timeLimiter(n)),
  defaultsCase('bulkhead', BulkheadRegistry, (r, n) => r.bulkhead(n)),
];

describe.each(CASES)('the $kind registry, through the common Registry interface', ({ kind, create, use }) => {
  it('says which policies it keeps, and finds, lists and follows them', () => {
    const { registry, make } = create();
    expect(registry.policyKind).toBe(kind);
    const added: string[] = [];
    registry.onAdded((p) => added.push(p.name));
    const a = make('a');
    const b = make('b');
    expect(a.kind).toBe(kind);
    expect(make('a')).toBe(a);
    expect(registry.all()).toEqual([a, b]);
    expect(registry.find('b')).toBe(b);
    expect(registry.find('c')).toBeUndefined();
    expect(added).toEqual(['a', 'b']);
  });

  it('remove(name) forgets the policy, tells onRemoved and closes it', () => {
    const { registry, make } = create();
    const removed: string[] = [];
    registry.onRemoved((p) => removed.push(p.name));
    const a = make('a');
    let closed = 0;
    const close = a.close.bind(a);
    a.close = () => {
      closed++;
      close();
    };
    expect(registry.remove('a')).toBe(a);
    expect(registry.remove('a')).toBeUndefined();
    expect(registry.all()).toEqual([]);
    expect(removed).toEqual(['a']);
    expect(closed).toBe(1);
  });

  it('onEvent follows policies created later and lets go of removed ones', async () => {
    const { registry, make } = create();
    const seen: string[] = [];
    const off = registry.onEvent((e) => seen.push((e as { name: string }).name));
    await use(make('early'));
    const late = make('late');
    await use(late);
    registry.remove('late');
    await use(late);
    off();
    await use(registry.find('early')!);
    expect([...new Set(seen)]).toEqual(['early', 'late']);
    expect(seen.filter((n) => n === 'late').length).toBe(seen.filter((n) => n === 'early').length);
  });

  it('every policy answers getMetrics() with a promise, and close() twice is harmless', async () => {
    const { make } = create();
    const policy = make('m');
    const metrics = policy.getMetrics();
    expect(metrics).toBeInstanceOf(Promise);
    expect(await metrics).toBeTypeOf('object');
    policy.close();
    policy.close();
  });
});

describe('types', () => {
  it('each registry is a Registry of its policy and events; each policy a Policy', () => {
    expectTypeOf<CircuitBreakerRegistry>().toExtend<Registry<CircuitBreaker, CircuitBreakerEvent>>();
    expectTypeOf<RetryRegistry>().toExtend<Registry<Retry, RetryEvent>>();
    expectTypeOf<RateLimiterRegistry>().toExtend<Registry<RateLimiter, RateLimiterEvent>>();
    expectTypeOf<TimeLimiterRegistry>().toExtend<Registry<TimeLimiter, TimeLimiterEvent>>();
    expectTypeOf<BulkheadRegistry>().toExtend<Registry<Bulkhead, BulkheadEvent>>();
    expectTypeOf<AnyPolicy>().toExtend<Policy>();
    expectTypeOf<AnyPolicy['kind']>().toEqualTypeOf<PolicyKind>();
  });
});
