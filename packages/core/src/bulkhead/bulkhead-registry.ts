import type { Store } from '../circuit-breaker/circuit-breaker-store.js';
import type { Clock } from '../common/clock.js';
import type { Unsubscribe } from '../common/event-publisher.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
import { onEveryPolicyEvent } from '../common/registry-events.js';
import { Bulkhead } from './bulkhead.js';
import type { BulkheadConfig } from './bulkhead-config.js';
import type { BulkheadEvent } from './bulkhead-events.js';
import type { BulkheadStore } from './bulkhead-store.js';

export interface BulkheadRegistryOptions {
  /** Where every bulkhead of this registry keeps its slots. Default: in-process. */
  readonly store?: Store | BulkheadStore;
  readonly clock?: Clock;
  /** Named configs; `default` replaces the built-in defaults for every bulkhead. */
  readonly configs?: NamedConfigs<BulkheadConfig>;
}

/** Creates and keeps bulkheads by name, all on one store. */
export class BulkheadRegistry {
  private readonly registry: PolicyRegistry<Bulkhead, BulkheadConfig>;
  readonly store: Store | BulkheadStore | undefined;

  static of(options: BulkheadRegistryOptions = {}): BulkheadRegistry {
    return new BulkheadRegistry(options);
  }

  static ofDefaults(): BulkheadRegistry {
    return new BulkheadRegistry({});
  }

  constructor(options: BulkheadRegistryOptions = {}) {
    const { store, clock } = options;
    this.store = store;
    this.registry = new PolicyRegistry('Bulkhead', options.configs ?? {}, (name, config) =>
      Bulkhead.of(name, config, { store, clock }),
    );
  }

  /** The bulkhead called `name`, created on first use from a config name or a config object. */
  bulkhead(name: string, config?: string | BulkheadConfig): Bulkhead {
    return this.registry.get(name, config);
  }

  find(name: string): Bulkhead | undefined {
    return this.registry.find(name);
  }

  getAllBulkheads(): Bulkhead[] {
    return this.registry.all();
  }

  /** Forgets and closes the bulkhead called `name`. */
  remove(name: string): Bulkhead | undefined {
    const bulkhead = this.registry.remove(name);
    bulkhead?.close();
    return bulkhead;
  }

  onAdded(listener: (bulkhead: Bulkhead) => void): Unsubscribe {
    return this.registry.onAdded(listener);
  }

  onRemoved(listener: (bulkhead: Bulkhead) => void): Unsubscribe {
    return this.registry.onRemoved(listener);
  }

  /** Every event of every bulkhead in the registry, including bulkheads created later. */
  onEvent(listener: (event: BulkheadEvent) => void): Unsubscribe {
    return onEveryPolicyEvent(this.registry, listener);
  }
}
