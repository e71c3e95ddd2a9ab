/**
 * The key schema: every key of a policy is `<prefix>:{<kind>:<name>}:<suffix>`. The hash tag
 * (`{...}`) puts all of a policy's keys in one Redis Cluster slot, so that one script can use them
 * together; the store's own channel and probe keys sit beside them.
 */

/** Short kinds in key hash tags and the policies they hold. */
export const POLICY_KINDS = {
  cb: 'circuitbreaker',
  rl: 'ratelimiter',
  bh: 'bulkhead',
} as const;

export type PolicyKindTag = keyof typeof POLICY_KINDS;
export type PolicyKind = (typeof POLICY_KINDS)[PolicyKindTag];

/** `<prefix>:{<kind>:<name>}:<suffix>`. */
export function policyKey(prefix: string, kind: PolicyKindTag, name: string, suffix: string): string {
  return `${prefix}:{${kind}:${name}}:${suffix}`;
}

/**
 * Reads `<prefix>:{<kind>:<name>}:<suffix>`: the policy kind (the short kind as it is for a kind
 * this version does not know), its name and the suffix; undefined for any other key. A name may
 * hold ':' or '}'; a suffix holds no '}'.
 */
export function parsePolicyKey(
  prefix: string,
  key: string,
): { readonly kind: string; readonly name: string; readonly suffix: string } | undefined {
  const head = `${prefix}:{`;
  if (!key.startsWith(head)) return undefined;
  const rest = key.slice(head.length);
  const colon = rest.indexOf(':');
  const close = rest.lastIndexOf('}');
  if (colon <= 0 || close <= colon || rest[close + 1] !== ':') return undefined;
  const short = rest.slice(0, colon);
  const kind = Object.hasOwn(POLICY_KINDS, short) ? POLICY_KINDS[short as PolicyKindTag] : short;
  return { kind, name: rest.slice(colon + 1, close), suffix: rest.slice(close + 2) };
}

/** A breaker's state document. */
export function breakerKey(prefix: string, name: string): string {
  return policyKey(prefix, 'cb', name, 'state');
}

/** A rate limiter's state. */
export function rateLimiterKey(prefix: string, name: string): string {
  return policyKey(prefix, 'rl', name, 'state');
}

/** A bulkhead's lease set, and the channel its releases notify waiting processes on. */
export function bulkheadKeys(prefix: string, name: string): { leases: string; channel: string } {
  return { leases: policyKey(prefix, 'bh', name, 'leases'), channel: policyKey(prefix, 'bh', name, 'freed') };
}

/** The fleet's channel: breaker transitions and store outages of every process. */
export function eventsChannel(prefix: string): string {
  return `${prefix}:events`;
}

/** The glob (for SCAN) that matches every policy key under `prefix`, and nothing else of the store's. */
export function policyKeyGlob(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:{*`;
}
