import type { Clock } from '../common/clock.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
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
export class CircuitBreakerRegistry extends PolicyRegistry<
  CircuitBreaker,
  CircuitBreakerConfig,
  CircuitBreakerEvent
> {
  readonly store: Store | undefined;

  static of(options: CircuitBreakerRegistryOptions = {}): CircuitBreakerRegistry {
    return new CircuitBreakerRegistry(options);
  }

  static ofDefaults(): CircuitBreakerRegistry {
    return new CircuitBreakerRegistry({});
  }

  constructor(options: CircuitBreakerRegistryOptions = {}) {
    const { store, clock } = options;
    super(
      'circuitbreaker',
      options.configs ?? {},
      (name, config) => CircuitBreaker.of(name, config, { store, clock }),
      mergeCircuitBreakerConfigs,
    );
    this.store = store;
  }

  /** The breaker called `name`, created on first use from a config name or a config object. */
  circuitBreaker(name: string, config?: string | CircuitBreakerConfig): CircuitBreaker {
    return this.policy(name, config);
  }

  /** Every breaker of the registry: the same as `all()`. */
  getAllCircuitBreakers(): CircuitBreaker[] {
    return this.all();
  }
}
