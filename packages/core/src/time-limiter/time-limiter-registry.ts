import type { Clock } from '../common/clock.js';
import type { Unsubscribe } from '../common/event-publisher.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
import { onEveryPolicyEvent } from '../common/registry-events.js';
import { TimeLimiter } from './time-limiter.js';
import type { TimeLimiterConfig } from './time-limiter-config.js';
import type { TimeLimiterEvent } from './time-limiter-events.js';

export interface TimeLimiterRegistryOptions {
  readonly clock?: Clock;
  /** Named configs; `default` replaces the built-in defaults for every time limiter. */
  readonly configs?: NamedConfigs<TimeLimiterConfig>;
}

/** Creates and keeps time limiters by name. */
export class TimeLimiterRegistry {
  private readonly registry: PolicyRegistry<TimeLimiter, TimeLimiterConfig>;

  static of(options: TimeLimiterRegistryOptions = {}): TimeLimiterRegistry {
    return new TimeLimiterRegistry(options);
  }

  static ofDefaults(): TimeLimiterRegistry {
    return new TimeLimiterRegistry({});
  }

  constructor(options: TimeLimiterRegistryOptions = {}) {
    const { clock } = options;
    this.registry = new PolicyRegistry('TimeLimiter', options.configs ?? {}, (name, config) =>
      TimeLimiter.of(name, config, { clock }),
    );
  }

  /** The time limiter called `name`, created on first use from a config name or a config object. */
  timeLimiter(name: string, config?: string | TimeLimiterConfig): TimeLimiter {
    return this.registry.get(name, config);
  }

  find(name: string): TimeLimiter | undefined {
    return this.registry.find(name);
  }

  getAllTimeLimiters(): TimeLimiter[] {
    return this.registry.all();
  }

  remove(name: string): TimeLimiter | undefined {
    return this.registry.remove(name);
  }

  onAdded(listener: (timeLimiter: TimeLimiter) => void): Unsubscribe {
    return this.registry.onAdded(listener);
  }

  onRemoved(listener: (timeLimiter: TimeLimiter) => void): Unsubscribe {
    return this.registry.onRemoved(listener);
  }

  /** Every event of every time limiter in the registry, including ones created later. */
  onEvent(listener: (event: TimeLimiterEvent) => void): Unsubscribe {
    return onEveryPolicyEvent(this.registry, listener);
  }
}
