import type { Clock } from '../common/clock.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
import { RateLimiter } from './rate-limiter.js';
import type { RateLimiterConfig } from './rate-limiter-config.js';
import type { RateLimiterEvent } from './rate-limiter-events.js';
import type { RateLimiterStore } from './rate-limiter-store.js';

export interface RateLimiterRegistryOptions {
  /** Where every limiter of this registry keeps its state. Default: in-process. */
  readonly store?: RateLimiterStore;
  readonly clock?: Clock;
  /** Named configs; `default` replaces the built-in defaults for every limiter. */
  readonly configs?: NamedConfigs<RateLimiterConfig>;
}

/** Creates and keeps rate limiters by name, all on one store. */
export class RateLimiterRegistry extends PolicyRegistry<RateLimiter, RateLimiterConfig, RateLimiterEvent> {
  readonly store: RateLimiterStore | undefined;

  static of(options: RateLimiterRegistryOptions = {}): RateLimiterRegistry {
    return new RateLimiterRegistry(options);
  }

  static ofDefaults(): RateLimiterRegistry {
    return new RateLimiterRegistry({});
  }

  constructor(options: RateLimiterRegistryOptions = {}) {
    const { store, clock } = options;
    super('ratelimiter', options.configs ?? {}, (name, config) =>
      RateLimiter.of(name, config, { store, clock }),
    );
    this.store = store;
  }

  /** The limiter called `name`, created on first use from a config name or a config object. */
  rateLimiter(name: string, config?: string | RateLimiterConfig): RateLimiter {
    return this.policy(name, config);
  }

  /** Every limiter of the registry: the same as `all()`. */
  getAllRateLimiters(): RateLimiter[] {
    return this.all();
  }
}
