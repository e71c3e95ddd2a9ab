import type { Clock } from '../common/clock.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
import { TimeLimiter } from './time-limiter.js';
import type { TimeLimiterConfig } from './time-limiter-config.js';
import type { TimeLimiterEvent } from './time-limiter-events.js';

export interface TimeLimiterRegistryOptions {
  readonly clock?: Clock;
  /** Named configs; `default` replaces the built-in defaults for every time limiter. */
  readonly configs?: NamedConfigs<TimeLimiterConfig>;
}

/** Creates and keeps time limiters by name. */
export class TimeLimiterRegistry extends PolicyRegistry<TimeLimiter, TimeLimiterConfig, TimeLimiterEvent> {
  static of(options: TimeLimiterRegistryOptions = {}): TimeLimiterRegistry {
    return new TimeLimiterRegistry(options);
  }

  static ofDefaults(): TimeLimiterRegistry {
    return new TimeLimiterRegistry({});
  }

  constructor(options: TimeLimiterRegistryOptions = {}) {
    const { clock } = options;
    super('timelimiter', options.configs ?? {}, (name, config) => TimeLimiter.of(name, config, { clock }));
  }

  /** The time limiter called `name`, created on first use from a config name or a config object. */
  timeLimiter(name: string, config?: string | TimeLimiterConfig): TimeLimiter {
    return this.policy(name, config);
  }

  /** Every time limiter of the registry: the same as `all()`. */
  getAllTimeLimiters(): TimeLimiter[] {
    return this.all();
  }
}
