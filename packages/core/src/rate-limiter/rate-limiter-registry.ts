import type { Store } from '../circuit-breaker/circuit-breaker-store.js';
import type { Clock } from '../common/clock.js';
import type { Unsubscribe } from '../common/event-publisher.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
import { onEveryPolicyEvent } from '../common/registry-events.js';
import { RateLimiter } from './rate-limiter.js';
import type { RateLimiterConfig } from './rate-limiter-config.js';
import type { RateLimiterEvent } from './rate-limiter-events.js';
import type { RateLimiterStore } from './rate-limiter-store.js';

export interface RateLimiterRegistryOptions {
  /** Where every limiter of this registry keeps its state. Default: in-process. */
  readonly store?: Store | RateLimiterStore;
  readonly clock?: Clock;
  /** Named configs; `default` replaces the built-in defaults for every limiter. */
  readonly configs?: NamedConfigs<RateLimiterConfig>;
}

/** Creates and keeps rate limiters by name, all on one store. */
export class RateLimiterRegistry {
  private readonly registry: PolicyRegistry<RateLimiter, RateLimiterConfig>;
  readonly store: Store | RateLimiterStore | undefined;

  static of(options: RateLimiterRegistryOptions = {}): RateLimiterRegistry {
    return new RateLimiterRegistry(options);
  }

  static ofDefaults(): RateLimiterRegistry {
    return new RateLimiterRegistry({});
  }

  constructor(options: RateLimiterRegistryOptions = {}) {
    const { store, clock } = options;
    this.store = store;
    this.registry = new PolicyRegistry('RateLimiter', options.configs ?? {}, (name, config) =>
      RateLimiter.of(name, config, { store, clock }),
    );
  }

  /** The limiter called `name`, created on first use from a config name or a config object. */
  rateLimiter(name: string, config?: string | RateLimiterConfig): RateLimiter {
    return this.registry.get(name, config);
  }

  find(name: string): RateLimiter | undefined {
    return this.registry.find(name);
  }

  getAllRateLimiters(): RateLimiter[] {
    return this.registry.all();
  }

  /** Forgets and closes the limiter called `name`. */
  remove(name: string): RateLimiter | undefined {
    const limiter = this.registry.remove(name);
    limiter?.close();
    return limiter;
  }

  onAdded(listener: (limiter: RateLimiter) => void): Unsubscribe {
    return this.registry.onAdded(listener);
  }

  onRemoved(listener: (limiter: RateLimiter) => void): Unsubscribe {
    return this.registry.onRemoved(listener);
  }

  /** Every event of every limiter in the registry, including limiters created later. */
  onEvent(listener: (event: RateLimiterEvent) => void): Unsubscribe {
    return onEveryPolicyEvent(this.registry, listener);
  }
}
