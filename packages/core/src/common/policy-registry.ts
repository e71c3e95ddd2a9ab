import { ConfigError } from './errors.js';
import { EventPublisher, type Unsubscribe } from './event-publisher.js';
import type { Policy, Registry } from './policy.js';
import { policyLabel } from './policy-name.js';
import type { PolicyKind } from './types.js';

/** Named configs: `default` replaces the built-in defaults; every other entry is merged over `default`. */
export type NamedConfigs<C> = { readonly default?: C } & { readonly [configName: string]: C | undefined };

type Change<P> =
  | { readonly type: 'ADDED'; readonly policy: P }
  | { readonly type: 'REMOVED'; readonly policy: P };

/**
 * What the five registries share (Resilience4j's AbstractRegistry): one instance per name, named
 * configs, and notice of policies added or removed. A registry extends it with its policy's
 * factory method (`circuitBreaker(name, config?)`, ...) calling `policy()`.
 */
export abstract class PolicyRegistry<P extends Policy<E>, C extends object, E> implements Registry<P, E> {
  private readonly policies = new Map<string, P>();
  private readonly changes = new EventPublisher<Change<P>>();

  protected constructor(
    readonly policyKind: PolicyKind,
    private readonly configs: NamedConfigs<C>,
    private readonly create: (name: string, config: C) => P,
    /** Lays `override` over `base`; a policy whose options exclude each other drops the base's counterpart. */
    private readonly merge: (base: C, override: C) => C = (base, override) => ({ ...base, ...override }),
  ) {
    if (typeof configs !== 'object' || configs === null) {
      throw new ConfigError(`${policyLabel(policyKind)}Registry`, {
        field: 'configs',
        value: configs,
        allowed: 'an object of named configs',
        policy: { kind: policyKind, name: undefined },
      });
    }
  }

  /**
   * The policy called `name`, created on first use from `config`: a config name (default
   * `'default'`) or a config object merged over the default config. Later calls return the same
   * instance whatever config they pass.
   */
  protected policy(name: string, config?: string | C): P {
    const existing = this.policies.get(name);
    if (existing !== undefined) return existing;
    const policy = this.create(name, this.configFor(name, config));
    this.policies.set(name, policy);
    this.changes.emit({ type: 'ADDED', policy });
    return policy;
  }

  all(): P[] {
    return [...this.policies.values()];
  }

  find(name: string): P | undefined {
    return this.policies.get(name);
  }

  remove(name: string): P | undefined {
    const policy = this.policies.get(name);
    if (policy === undefined) return undefined;
    this.policies.delete(name);
    this.changes.emit({ type: 'REMOVED', policy });
    policy.close();
    return policy;
  }

  onAdded(listener: (policy: P) => void): Unsubscribe {
    return this.changes.on('ADDED', (e) => listener(e.policy));
  }

  onRemoved(listener: (policy: P) => void): Unsubscribe {
    return this.changes.on('REMOVED', (e) => listener(e.policy));
  }

  onEvent(listener: (event: E) => void): Unsubscribe {
    const subscriptions = new Map<P, Unsubscribe>();
    const follow = (policy: P) => {
      if (!subscriptions.has(policy)) subscriptions.set(policy, policy.onEvent(listener));
    };
    for (const policy of this.all()) follow(policy);
    const stopAdded = this.onAdded(follow);
    const stopRemoved = this.onRemoved((policy) => {
      subscriptions.get(policy)?.();
      subscriptions.delete(policy);
    });
    return () => {
      stopAdded();
      stopRemoved();
      for (const off of subscriptions.values()) off();
      subscriptions.clear();
    };
  }

  private configFor(name: string, config: string | C | undefined): C {
    const base = (this.configs.default ?? {}) as C;
    if (config === undefined || config === 'default') return base;
    if (typeof config === 'string') {
      const named = this.configs[config];
      if (named === undefined) {
        const known = Object.keys(this.configs).join(', ') || 'none';
        throw new ConfigError(`${policyLabel(this.policyKind)}Registry`, {
          field: 'config',
          value: config,
          allowed: `the name of a registered config (${known})`,
          policy: { kind: this.policyKind, name },
        });
      }
      return this.merge(base, named);
    }
    return this.merge(base, config);
  }
}
