import { ConfigError } from './errors.js';
import type { PolicyKind } from './types.js';

/** Longest policy name accepted; names end up in Redis keys and metric labels. */
export const MAX_POLICY_NAME_LENGTH = 256;

const ALLOWED = `a non-empty string of well-formed Unicode (no lone surrogate, such as half an emoji) of at most ${MAX_POLICY_NAME_LENGTH} UTF-16 code units without control characters`;

/**
 * A lone UTF-16 surrogate. With the `u` flag a surrogate pair is one code point and does not
 * match, so this finds exactly what `String.prototype.isWellFormed()` (ES2024) rejects.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Rejects names that cannot be stored or labelled: empty, too long, containing control
 * characters, or not well-formed Unicode. A lone surrogate cannot be encoded as UTF-8: Redis's
 * cjson refuses the script argument, and two names differing only in their lone surrogates
 * would become the same key once replaced by U+FFFD.
 */
export function validatePolicyName(kind: PolicyKind, name: unknown): string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_POLICY_NAME_LENGTH ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
    /[\u0000-\u001f\u007f]/.test(name) ||
    LONE_SURROGATE.test(name)
  ) {
    throw new ConfigError(`${policyLabel(kind)} name`, {
      field: 'name',
      value: name,
      allowed: ALLOWED,
      policy: { kind, name: undefined },
    });
  }
  return name;
}

const LABELS: Readonly<Record<PolicyKind, string>> = {
  circuitbreaker: 'CircuitBreaker',
  retry: 'Retry',
  ratelimiter: 'RateLimiter',
  timelimiter: 'TimeLimiter',
  bulkhead: 'Bulkhead',
};

/** The class name of a policy of `kind`, as messages name it: `'CircuitBreaker'` for `'circuitbreaker'`. */
export function policyLabel(kind: PolicyKind): string {
  return LABELS[kind];
}

/** How messages name the policy `name` of `kind`, e.g. `CircuitBreaker 'payments'`. */
export function policySubject(kind: PolicyKind, name: string | undefined): string {
  return `${LABELS[kind]} '${name ?? '(unnamed)'}'`;
}
