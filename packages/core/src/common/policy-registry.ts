import { ConfigError } from './errors.js';
import { EventPublisher, type Unsubscribe } from './event-publisher.js';

interface NamedPolicy {
  readonly name: string;
}

/** Named configs: `default` replaces the built-in defaults; every other entry is merged over `default`. */
export type NamedConfigs<C> = { readonly default?: C } & { readonly [configName: string]: C | undefined };

type AddedEvent<P> =
  | { readonly type: 'ADDED'; readonly policy: P }
  | { readonly type: 'REMOVED'; readonly policy: P };

/**
 * The part every registry shares: one instance per name, named configs, and notice of
 * policies added or removed (so that event streams can follow policies created later).
 */
export class PolicyRegistry<P extends NamedPolicy, C extends object> {
  private readonly policies = new Map<string, P>();
  private readonly changes = new EventPublisher<AddedEvent<P>>();

  constructor(
    private readonly kind: string,
    private readonly configs: NamedConfigs<C>,
    private readonly create: (name: string, config: C) => P,
    /** Lays `override` over `base`; a policy whose options exclude each other drops the base's counterpart. */
    private readonly merge: (base: C, override: C) => C = (base, override) => ({ ...base, ...override }),
  ) {
    if (typeof configs !== 'object' || configs === null) {
      throw new ConfigError(`${kind}Registry`, {
        field: 'configs',
        value: configs,
        allowed: 'an object of named configs',
      });
    }
  }

  /**
   * The policy called `name`, created on first use from `config`: a config name (default
   * `'default'`) or a config object merged over the default config. Later calls return the same
   * instance whatever config they pass.
   */
  get(name: string, config?: string | C): P {
    const existing = this.policies.get(name);
    if (existing !== undefined) return existing;
    const policy = this.create(name, this.configFor(config));
    this.policies.set(name, policy);
    this.changes.emit({ type: 'ADDED', policy });
    return policy;
  }

  find(name: string): P | undefined {
    return this.policies.get(name);
  }

  all(): P[] {
    return [...this.policies.values()];
  }

  /** Forgets the policy called `name`; returns it, or undefined when there was none. */
  remove(name: string): P | undefined {
    const policy = this.policies.get(name);
    if (policy === undefined) return undefined;
    this.policies.delete(name);
    this.changes.emit({ type: 'REMOVED', policy });
    return policy;
  }

  onAdded(listener: (policy: P) => void): Unsubscribe {
    return this.changes.on('ADDED', (e) => listener(e.policy));
  }

  onRemoved(listener: (policy: P) => void): Unsubscribe {
    return this.changes.on('REMOVED', (e) => listener(e.policy));
  }

  private configFor(config: string | C | undefined): C {
    const base = (this.configs.default ?? {}) as C;
    if (config === undefined || config === 'default') return base;
    if (typeof config === 'string') {
      const named = this.configs[config];
      if (named === undefined) {
        const known = Object.keys(this.configs).join(', ') || 'none';
        throw new ConfigError(`${this.kind}Registry`, {
          field: 'config',
          value: config,
          allowed: `the name of a registered config (${known})`,
        });
      }
      return this.merge(base, named);
    }
    return this.merge(base, config);
  }
}
