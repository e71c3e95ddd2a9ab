import type { Clock } from '../common/clock.js';
import type { Unsubscribe } from '../common/event-publisher.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
import { onEveryPolicyEvent } from '../common/registry-events.js';
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
export class RetryRegistry {
  private readonly registry: PolicyRegistry<Retry, RetryConfig>;

  static of(options: RetryRegistryOptions = {}): RetryRegistry {
    return new RetryRegistry(options);
  }

  static ofDefaults(): RetryRegistry {
    return new RetryRegistry({});
  }

  constructor(options: RetryRegistryOptions = {}) {
    const { clock, sleep } = options;
    this.registry = new PolicyRegistry(
      'Retry',
      options.configs ?? {},
      (name, config) => Retry.of(name, config, { clock, sleep }),
      mergeRetryConfig,
    );
  }

  /** The retry called `name`, created on first use from a config name or a config object. */
  retry(name: string, config?: string | RetryConfig): Retry {
    return this.registry.get(name, config);
  }

  find(name: string): Retry | undefined {
    return this.registry.find(name);
  }

  getAllRetries(): Retry[] {
    return this.registry.all();
  }

  remove(name: string): Retry | undefined {
    return this.registry.remove(name);
  }

  onAdded(listener: (retry: Retry) => void): Unsubscribe {
    return this.registry.onAdded(listener);
  }

  onRemoved(listener: (retry: Retry) => void): Unsubscribe {
    return this.registry.onRemoved(listener);
  }

  /** Every event of every retry in the registry, including retries created later. */
  onEvent(listener: (event: RetryEvent) => void): Unsubscribe {
    return onEveryPolicyEvent(this.registry, listener);
  }
}
