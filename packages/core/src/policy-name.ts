import { ConfigError } from './errors.js';

/** Longest policy name accepted; names end up in Redis keys and metric labels. */
export const MAX_POLICY_NAME_LENGTH = 256;

/** Rejects names that cannot be stored or labelled: empty, too long, or containing control characters. */
export function validatePolicyName(policy: string, name: unknown): string {
  const allowed = `a non-empty string of at most ${MAX_POLICY_NAME_LENGTH} characters without control characters`;
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_POLICY_NAME_LENGTH ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
    /[\u0000-\u001f\u007f]/.test(name)
  ) {
    throw new ConfigError(`${policy} name`, { field: 'name', value: name, allowed });
  }
  return name;
}
