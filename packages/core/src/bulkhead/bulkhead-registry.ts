import type { Clock } from '../common/clock.js';
import { type NamedConfigs, PolicyRegistry } from '../common/policy-registry.js';
import { Bulkhead } from './bulkhead.js';
import type { BulkheadConfig } from './bulkhead-config.js';
import type { BulkheadEvent } from './bulkhead-events.js';
import type { BulkheadStore } from './bulkhead-store.js';

export interface BulkheadRegistryOptions {
  /** Where every bulkhead of this registry keeps its slots. Default: in-process. */
  readonly store?: BulkheadStore;
  readonly clock?: Clock;
  /** Named configs; `default` replaces the built-in defaults for every bulkhead. */
  readonly configs?: NamedConfigs<BulkheadConfig>;
}

/** Creates and keeps bulkheads by name, all on one store. */
export class BulkheadRegistry extends PolicyRegistry<Bulkhead, BulkheadConfig, BulkheadEvent> {
  readonly store: BulkheadStore | undefined;

  static of(options: BulkheadRegistryOptions = {}): BulkheadRegistry {
    return new BulkheadRegistry(options);
  }

  static ofDefaults(): BulkheadRegistry {
    return new BulkheadRegistry({});
  }

  constructor(options: BulkheadRegistryOptions = {}) {
    const { store, clock } = options;
    super('bulkhead', options.configs ?? {}, (name, config) => Bulkhead.of(name, config, { store, clock }));
    this.store = store;
  }

  /** The bulkhead called `name`, created on first use from a config name or a config object. */
  bulkhead(name: string, config?: string | BulkheadConfig): Bulkhead {
    return this.policy(name, config);
  }

  /** Every bulkhead of the registry: the same as `all()`. */
  getAllBulkheads(): Bulkhead[] {
    return this.all();
  }
}
