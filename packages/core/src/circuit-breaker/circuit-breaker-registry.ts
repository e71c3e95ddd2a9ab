import type { Clock } from '../common/clock.js';
import type { Unsubscribe } from '../common/event-publisher.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
import { onEveryPolicyEvent } from '../common/registry-events.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { type CircuitBreakerConfig, mergeCircuitBreakerConfigs } from './circuit-breaker-config.js';
import type { CircuitBreakerEvent } from './circuit-breaker-events.js';
import type { Store } from './circuit-breaker-store.js';

export interface CircuitBreakerRegistryOptions {
  /** Where every breaker of this registry keeps its state. Default: in-process. */
  readonly store?: Store;
  readonly clock?: Clock;
  /** Named configs; `default` replaces the built-in defaults for every breaker. */
  readonly configs?: NamedConfigs<CircuitBreakerConfig>;
}

/** Creates and keeps circuit breakers by name, all on one store. */
export class CircuitBreakerRegistry {
  private readonly registry: PolicyRegistry<CircuitBreaker, CircuitBreakerConfig>;
  readonly store: Store | undefined;

  static of(options: CircuitBreakerRegistryOptions = {}): CircuitBreakerRegistry {
    return new CircuitBreakerRegistry(options);
  }

  static ofDefaults(): CircuitBreakerRegistry {
    return new CircuitBreakerRegistry({});
  }

  constructor(options: CircuitBreakerRegistryOptions = {}) {
    const { store, clock } = options;
    this.store = store;
    this.registry = new PolicyRegistry(
      'CircuitBreaker',
      options.configs ?? {},
      (name, config) => CircuitBreaker.of(name, config, { store, clock }),
      mergeCircuitBreakerConfigs,
    );
  }

  /** The breaker called `name`, created on first use from a config name or a config object. */
  circuitBreaker(name: string, config?: string | CircuitBreakerConfig): CircuitBreaker {
    return this.registry.get(name, config);
  }

  find(name: string): CircuitBreaker | undefined {
    return this.registry.find(name);
  }

  getAllCircuitBreakers(): CircuitBreaker[] {
    return this.registry.all();
  }

  /** Forgets and closes the breaker called `name`. */
  remove(name: string): CircuitBreaker | undefined {
    const cb = this.registry.remove(name);
    cb?.close();
    return cb;
  }

  onAdded(listener: (cb: CircuitBreaker) => void): Unsubscribe {
    return this.registry.onAdded(listener);
  }

  onRemoved(listener: (cb: CircuitBreaker) => void): Unsubscribe {
    return this.registry.onRemoved(listener);
  }

  /** Every event of every breaker in the registry, including breakers created later. */
  onEvent(listener: (event: CircuitBreakerEvent) => void): Unsubscribe {
    return onEveryPolicyEvent(this.registry, listener);
  }
}
