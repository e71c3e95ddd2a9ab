/**
 * The checks every policy's configuration gets (bulkhead, rate limiter): a ConfigError naming the
 * field, and a store that cannot hold the policy refused. Not a test file itself.
 */
import { expect } from 'vitest';
import type { Store } from '../circuit-breaker/circuit-breaker-store.js';
import { ConfigError } from './errors.js';
import type { PolicyKind } from './types.js';

/** Checks that `create` throws a ConfigError naming `field`. */
export function expectConfigError(create: () => unknown, field: string): void {
  expect(create).toThrow(ConfigError);
  try {
    create();
  } catch (e) {
    expect((e as ConfigError).field).toBe(field);
  }
}

/**
 * Checks that each of `attempts` refuses a store of breakers only with a ConfigError that names
 * the store and what it lacks: quietly keeping the state per process instead would break a
 * fleet-wide limit. `holds` and `method` say what the policy needs ('bulkheads', 'bulkhead').
 */
export function expectBreakersOnlyStoreRefused(
  policy: { readonly kind: PolicyKind; readonly holds: string; readonly method: string },
  attempts: (store: Store) => (() => unknown)[],
): void {
  const store: Store = {
    kind: 'breakers-only',
    circuitBreaker: () => expect.fail('not asked for a breaker'),
  };
  for (const attempt of attempts(store)) {
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      `'store' must be a store that holds ${policy.holds} (it has a ${policy.method}() method), which the 'breakers-only' store does not`,
    );
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ field: 'store', value: store, policyKind: policy.kind, policyName: 'x' });
    }
  }
}
