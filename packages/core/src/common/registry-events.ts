import type { Unsubscribe } from './event-publisher.js';
import type { PolicyRegistry } from './policy-registry.js';

interface EventSource<E> {
  readonly name: string;
  onEvent(listener: (event: E) => void): Unsubscribe;
}

/**
 * Subscribes `listener` to the events of every policy in `registry`, including policies added
 * later, and unsubscribes from policies as they are removed.
 */
export function onEveryPolicyEvent<E, P extends EventSource<E>, C extends object>(
  registry: PolicyRegistry<P, C>,
  listener: (event: E) => void,
): Unsubscribe {
  const subscriptions = new Map<P, Unsubscribe>();
  const follow = (policy: P) => {
    if (!subscriptions.has(policy)) subscriptions.set(policy, policy.onEvent(listener));
  };
  for (const policy of registry.all()) follow(policy);
  const stopAdded = registry.onAdded(follow);
  const stopRemoved = registry.onRemoved((policy) => {
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
