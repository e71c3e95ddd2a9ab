import { ConfigError } from './errors.js';
import { policySubject } from './policy-name.js';
import type { PolicyKind } from './types.js';

const HOLDS: Readonly<Record<PolicyKind, string>> = {
  circuitbreaker: 'circuit breakers',
  retry: 'retries',
  ratelimiter: 'rate limiters',
  timelimiter: 'time limiters',
  bulkhead: 'bulkheads',
};

/**
 * A policy's `store` option: the store, when it can hold policies of `kind` (it has `method`), or
 * undefined when none was given (the policy keeps its state in process). A store that cannot hold
 * them is a ConfigError: quietly keeping the state in process instead would turn a fleet-wide
 * limit into a per-process one.
 */
export function storeOption<S>(
  store: unknown,
  method: string,
  kind: PolicyKind,
  name: string,
): S | undefined {
  if (store === undefined || store === null) return undefined;
  if (typeof (store as Record<string, unknown>)[method] === 'function') return store as S;
  const storeKind = (store as { kind?: unknown }).kind;
  const which = typeof storeKind === 'string' ? `the '${storeKind}' store` : 'the store given';
  throw new ConfigError(`${policySubject(kind, name)} options`, {
    field: 'store',
    value: store,
    allowed: `a store that holds ${HOLDS[kind]} (it has a ${method}() method), which ${which} does not`,
    policy: { kind, name },
  });
}
