import type { Clock } from '../common/clock.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
import { Retry } from './retry.js';
import { mergeRetryConfig, type RetryConfig } from './retry-config.js';
import type { RetryEvent } from './retry-events.js';
import type { Sleep } from './sleep.js';

export interface RetryRegistryOptions {
  readonly clock?: Clock;
  readonly sleep?: Sleep;
  /** Named configs; `default` replaces the built-in defaults for every retry. */
  readonly configs?: NamedConfigs<RetryConfig>;
}

/** Creates and keeps retries by name. */
export class RetryRegistry extends PolicyRegistry<Retry, RetryConfig, RetryEvent> {
  static of(options: RetryRegistryOptions = {}): RetryRegistry {
    return new RetryRegistry(options);
  }

  static ofDefaults(): RetryRegistry {
    return new RetryRegistry({});
  }

  constructor(options: RetryRegistryOptions = {}) {
    const { clock, sleep } = options;
    super(
      'retry',
      options.configs ?? {},
      (name, config) => Retry.of(name, config, { clock, sleep }),
      mergeRetryConfig,
    );
  }

  /** The retry called `name`, created on first use from a config name or a config object. */
  retry(name: string, config?: string | RetryConfig): Retry {
    return this.policy(name, config);
  }

  /** Every retry of the registry: the same as `all()`. */
  getAllRetries(): Retry[] {
    return this.all();
  }
}
