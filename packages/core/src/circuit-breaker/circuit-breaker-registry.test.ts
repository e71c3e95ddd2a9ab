import {
  CircuitBreaker,
  type CircuitBreakerEvent,
  CircuitBreakerRegistry,
  ConfigError,
  ManualClock,
} from '@breakwater/core';
import { MemoryStore } from '@breakwater/store-memory';
import { describe, expect, it } from 'vitest';

const fail = (cb: CircuitBreaker) =>
  cb
    .execute(() => {
      throw new Error('down');
    })
    .then(
      () => {
        throw new Error('expected a failure');
      },
      () => undefined,
    );

describe('CircuitBreakerRegistry', () => {
  it('returns the same instance for a known name', () => {
    const registry = CircuitBreakerRegistry.ofDefaults();
    const a = registry.circuitBreaker('payments');
    expect(a).toBeInstanceOf(CircuitBreaker);
    expect(registry.circuitBreaker('payments')).toBe(a);
    // ...whatever config a later call passes
    expect(registry.circuitBreaker('payments', { slidingWindowSize: 3 })).toBe(a);
    expect(a.config.slidingWindowSize).toBe(100);
    expect(registry.find('payments')).toBe(a);
    expect(registry.find('nope')).toBeUndefined();
    expect(registry.getAllCircuitBreakers()).toEqual([a]);
  });

  it('`default` replaces the built-in defaults', () => {
    const registry = CircuitBreakerRegistry.of({
      configs: { default: { slidingWindowSize: 20, failureRateThreshold: 30 } },
    });
    const cb = registry.circuitBreaker('x');
    expect(cb.config).toMatchObject({
      slidingWindowSize: 20,
      failureRateThreshold: 30,
      minimumNumberOfCalls: 100,
      waitDurationInOpenState: 60_000,
    });
    expect(registry.circuitBreaker('y', 'default').config.slidingWindowSize).toBe(20);
  });

  it('a named config is merged over `default`', () => {
    const registry = CircuitBreakerRegistry.of({
      configs: {
        default: { slidingWindowSize: 20, failureRateThreshold: 30 },
        strict: { failureRateThreshold: 10, minimumNumberOfCalls: 5 },
      },
    });
    expect(registry.circuitBreaker('s', 'strict').config).toMatchObject({
      slidingWindowSize: 20,
      failureRateThreshold: 10,
      minimumNumberOfCalls: 5,
    });
    // and a config object, too
    expect(registry.circuitBreaker('o', { minimumNumberOfCalls: 7 }).config).toMatchObject({
      slidingWindowSize: 20,
      failureRateThreshold: 30,
      minimumNumberOfCalls: 7,
    });
  });

  it('a named config works without a `default`', () => {
    const registry = CircuitBreakerRegistry.of({ configs: { fast: { waitDurationInOpenState: 500 } } });
    expect(registry.circuitBreaker('f', 'fast').config.waitDurationInOpenState).toBe(500);
    expect(registry.circuitBreaker('d').config.waitDurationInOpenState).toBe(60_000);
  });

  it('a named config may replace the default wait with an interval function', () => {
    // Resilience4j's builder lets a derived config swap the fixed wait for an interval function.
    const registry = CircuitBreakerRegistry.of({
      configs: {
        default: { waitDurationInOpenState: 30_000 },
        backoff: { waitIntervalFunctionInOpenState: (n) => n * 1000 },
      },
    });
    const cb = registry.circuitBreaker('b', 'backoff');
    expect(cb.config.waitDurationFor(3)).toBe(3000);
  });

  it("a named config may switch a 'successes' default back to the 'rate' policy", () => {
    const registry = CircuitBreakerRegistry.of({
      configs: {
        default: { halfOpenPolicy: 'successes', successThresholdInHalfOpenState: 3 },
        classic: { halfOpenPolicy: 'rate' },
      },
    });
    expect(registry.circuitBreaker('c', 'classic').config.halfOpenPolicy).toBe('rate');
  });

  it('an unknown config name is a ConfigError naming it', () => {
    const registry = CircuitBreakerRegistry.of({ configs: { strict: { failureRateThreshold: 10 } } });
    let error: unknown;
    try {
      registry.circuitBreaker('x', 'strcit');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ field: 'config', value: 'strcit' });
    expect((error as ConfigError).allowed).toContain('strict');
    expect(registry.find('x')).toBeUndefined();
  });

  it('a bad named config is a ConfigError when the breaker is created', () => {
    const registry = CircuitBreakerRegistry.of({ configs: { bad: { slidingWindowSize: -1 } } });
    expect(() => registry.circuitBreaker('x', 'bad')).toThrow(ConfigError);
    expect(registry.find('x')).toBeUndefined();
  });

  it('passes its store and clock to every breaker', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_000_000);
    const config = { slidingWindowSize: 2, minimumNumberOfCalls: 2, waitDurationInOpenState: 1000 };
    const registry = CircuitBreakerRegistry.of({ store, clock, configs: { default: config } });
    const cb = registry.circuitBreaker('shared');
    expect(registry.store).toBe(store);
    await fail(cb);
    await fail(cb);
    expect(store.size).toBe(1);
    // A breaker of the same name outside the registry, on the same store, sees the same state.
    const twin = CircuitBreaker.of('shared', config, { store, clock });
    expect(await twin.getState()).toBe('OPEN');
    clock.advance(1000);
    expect(await cb.tryAcquirePermission()).toBe(true);
    expect(await twin.getState()).toBe('HALF_OPEN');
  });

  it('onEvent follows breakers created later, and unsubscribes cleanly', async () => {
    const registry = CircuitBreakerRegistry.of({
      configs: { default: { slidingWindowSize: 10, minimumNumberOfCalls: 10 } },
    });
    const early = registry.circuitBreaker('early');
    const seen: string[] = [];
    const off = registry.onEvent((e: CircuitBreakerEvent) => seen.push(`${e.name}:${e.type}`));
    const late = registry.circuitBreaker('late');
    await fail(early);
    await fail(late);
    await late.execute(() => 'ok');
    expect(seen).toEqual(['early:ERROR', 'late:ERROR', 'late:SUCCESS']);
    off();
    off();
    await fail(early);
    await fail(late);
    const later = registry.circuitBreaker('later');
    await fail(later);
    expect(seen).toHaveLength(3);
  });

  it('two onEvent subscriptions are independent', async () => {
    const registry = CircuitBreakerRegistry.ofDefaults();
    const a: string[] = [];
    const b: string[] = [];
    const offA = registry.onEvent((e) => a.push(e.type));
    registry.onEvent((e) => b.push(e.type));
    const cb = registry.circuitBreaker('x');
    await cb.execute(() => 1);
    offA();
    await cb.execute(() => 2);
    expect(a).toEqual(['SUCCESS']);
    expect(b).toEqual(['SUCCESS', 'SUCCESS']);
  });

  it('remove() forgets and closes the breaker; its events stop; the name can be created afresh', async () => {
    const registry = CircuitBreakerRegistry.of({
      configs: { default: { slidingWindowSize: 2, minimumNumberOfCalls: 2 } },
    });
    const seen: string[] = [];
    registry.onEvent((e) => seen.push(`${e.name}:${e.type}`));
    const removedSeen: string[] = [];
    registry.onRemoved((cb) => removedSeen.push(cb.name));
    const cb = registry.circuitBreaker('gone');
    await fail(cb);
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
    expect(registry.remove('gone')).toBe(cb);
    expect(registry.remove('gone')).toBeUndefined();
    expect(removedSeen).toEqual(['gone']);
    expect(registry.find('gone')).toBeUndefined();
    expect(registry.getAllCircuitBreakers()).toEqual([]);
    const count = seen.length;
    await cb.reset().catch(() => undefined);
    expect(seen).toHaveLength(count);
    const fresh = registry.circuitBreaker('gone');
    expect(fresh).not.toBe(cb);
    expect(await fresh.getState()).toBe('CLOSED');
    await fresh.execute(() => 1);
    expect(seen.at(-1)).toBe('gone:SUCCESS');
  });

  it('onAdded is told about new breakers only', () => {
    const registry = CircuitBreakerRegistry.ofDefaults();
    const added: string[] = [];
    const off = registry.onAdded((cb) => added.push(cb.name));
    registry.circuitBreaker('a');
    registry.circuitBreaker('a');
    registry.circuitBreaker('b');
    off();
    registry.circuitBreaker('c');
    expect(added).toEqual(['a', 'b']);
  });

  it('rejects configs that are not an object', () => {
    expect(() => CircuitBreakerRegistry.of({ configs: 'nope' as never })).toThrow(ConfigError);
  });
});
