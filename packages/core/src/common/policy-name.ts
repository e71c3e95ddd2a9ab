import { ConfigError } from './errors.js';

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
export function validatePolicyName(policy: string, name: unknown): string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_POLICY_NAME_LENGTH ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
    /[\u0000-\u001f\u007f]/.test(name) ||
    LONE_SURROGATE.test(name)
  ) {
    throw new ConfigError(`${policy} name`, { field: 'name', value: name, allowed: ALLOWED });
  }
  return name;
}
