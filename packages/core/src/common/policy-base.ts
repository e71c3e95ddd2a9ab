import { type Clock, clockOption } from './clock.js';
import { EventPublisher, type Unsubscribe } from './event-publisher.js';
import type { Policy } from './policy.js';
import { validatePolicyName } from './policy-name.js';
import type { PolicyKind, Supplier } from './types.js';

/**
 * What the five policy classes share, written once: the name (checked before anything else), the
 * `clock` option, the event hub with `on`/`onEvent` over it, and `decorate` over `execute`. Each
 * policy adds its configuration, its `execute`, its metrics and what `close()` releases; its static
 * `of`/`ofDefaults` stay on the class, where they need no `this` (they may be passed around unbound).
 */
export abstract class PolicyBase<E extends { readonly type: string }, M> implements Policy<E, M> {
  abstract readonly kind: PolicyKind;
  readonly name: string;
  protected readonly clock: Clock;
  /**
   * Private to the policy: emitters check `hasListeners` first, so a policy nobody listens to
   * builds no events (bench `breaker`, case `ours-count`).
   */
  protected readonly publisher = new EventPublisher<E>();

  protected constructor(kind: PolicyKind, name: string, clock: unknown) {
    this.name = validatePolicyName(kind, name);
    this.clock = clockOption(clock, kind, name);
  }

  abstract execute<T>(fn: Supplier<T>, signal?: AbortSignal): Promise<T>;

  /** Wraps `fn` so that every call goes through `execute`; arguments and return type pass through. */
  decorate<A extends unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T> {
    return (...args: A) => this.execute(() => fn(...args));
  }

  abstract getMetrics(): Promise<M>;

  /** Listens to one event type; returns the function that stops listening. */
  on<K extends E['type']>(type: K, listener: (event: Extract<E, { type: K }>) => void): Unsubscribe {
    return this.publisher.on(type, listener);
  }

  /** Listens to every event of this policy; returns the function that stops listening. */
  onEvent(listener: (event: E) => void): Unsubscribe {
    return this.publisher.onEvent(listener);
  }

  abstract close(): void;
}
