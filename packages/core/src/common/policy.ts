import type { Unsubscribe } from './event-publisher.js';
import type { PolicyKind } from './types.js';

/**
 * What every policy has (CircuitBreaker, Retry, RateLimiter, TimeLimiter, Bulkhead), so that code
 * which handles any policy (a metrics exporter, an event stream) needs no `instanceof`:
 *
 * - `getMetrics()` always answers with a promise. The breaker, the rate limiter and the bulkhead
 *   keep their state in a store, which may have to ask Redis; Retry and TimeLimiter count in
 *   process and answer with a resolved promise, so that every policy is read the same way.
 * - `close()` is always synchronous and safe to call twice: it detaches the policy from its store
 *   (an engine stops listening at once; there is nothing to wait for). Retry and TimeLimiter hold
 *   nothing between calls, so theirs does nothing; it exists so that any policy can be closed alike,
 *   as a registry's `remove(name)` does.
 */
export interface Policy<E = unknown, M = unknown> {
  readonly kind: PolicyKind;
  readonly name: string;
  getMetrics(): Promise<M>;
  /** Listens to every event of this policy; returns the function that stops listening. */
  onEvent(listener: (event: E) => void): Unsubscribe;
  close(): void;
}

/**
 * What every registry has, whatever policy it keeps (Resilience4j's `Registry`): its policies by
 * name, and notice of the policies added and removed, so that metrics and event streams follow
 * policies created later.
 */
export interface Registry<P extends Policy<E>, E = unknown> {
  /** The kind of policy this registry keeps. */
  readonly policyKind: PolicyKind;
  /** Every policy of the registry, in the order they were created. */
  all(): P[];
  find(name: string): P | undefined;
  /** Forgets and closes the policy called `name`; returns it, or undefined when there was none. */
  remove(name: string): P | undefined;
  onAdded(listener: (policy: P) => void): Unsubscribe;
  onRemoved(listener: (policy: P) => void): Unsubscribe;
  /** Every event of every policy in the registry, including policies created later. */
  onEvent(listener: (event: E) => void): Unsubscribe;
}
