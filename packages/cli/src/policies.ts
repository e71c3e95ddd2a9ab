/** The policies under a prefix, of every kind: found with SCAN, read by kind. */
import {
  breakerKey,
  bulkheadKeys,
  type PolicyKind,
  parsePolicyKey,
  policyKeyGlob,
  rateLimiterKey,
} from '@breakwater/store-redis/wire';
import type { Redis } from 'ioredis';
import { type BreakerStatus, readBreaker } from './breakers.js';
import { type BulkheadStatus, readBulkhead } from './bulkheads.js';
import { type Connection, isCluster } from './connection.js';
import { type RateLimiterStatus, readRateLimiter } from './rate-limiters.js';

/** A policy found in Redis: its kind, its name and its keys. */
export interface PolicyEntry {
  /** `circuitbreaker`, `ratelimiter`, `bulkhead`, or the short kind of a kind this CLI does not know. */
  readonly kind: string;
  readonly name: string;
  readonly keys: string[];
}

/** What the CLI shows of a policy of a kind it reads. */
export type PolicyStatus = BreakerStatus | RateLimiterStatus | BulkheadStatus;

/** The kinds the CLI reads, in the order it lists them. */
export const KINDS: readonly PolicyKind[] = ['circuitbreaker', 'ratelimiter', 'bulkhead'];

/** How the CLI's sentences name each kind. */
export const KIND_NAMES: Readonly<Record<PolicyKind, string>> = {
  circuitbreaker: 'circuit breaker',
  ratelimiter: 'rate limiter',
  bulkhead: 'bulkhead',
};

export function isKind(kind: string): kind is PolicyKind {
  return (KINDS as readonly string[]).includes(kind);
}

/** Known kinds in KINDS' order, then the others by name. */
function kindOrder(a: string, b: string): number {
  const rank = (k: string) => (isKind(k) ? KINDS.indexOf(k) : KINDS.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** Every key under `<prefix>:{`, with SCAN (never KEYS), on every master of a cluster. */
export async function scanKeys(conn: Connection, prefix: string): Promise<string[]> {
  const nodes: Redis[] = isCluster(conn) ? conn.nodes('master') : [conn];
  const keys = new Set<string>();
  for (const node of nodes) {
    const stream = node.scanStream({ match: policyKeyGlob(prefix), count: 1000 });
    for await (const batch of stream as AsyncIterable<string[]>) for (const key of batch) keys.add(key);
  }
  return [...keys].sort();
}

/** The policies under `prefix`, sorted by kind (breakers, rate limiters, bulkheads, others) and name. */
export async function scanPolicies(conn: Connection, prefix: string): Promise<PolicyEntry[]> {
  const byId = new Map<string, PolicyEntry>();
  for (const key of await scanKeys(conn, prefix)) {
    const parsed = parsePolicyKey(prefix, key);
    if (parsed === undefined) continue;
    const id = `${parsed.kind}\u0000${parsed.name}`;
    let entry = byId.get(id);
    if (entry === undefined) {
      entry = { kind: parsed.kind, name: parsed.name, keys: [] };
      byId.set(id, entry);
    }
    entry.keys.push(key);
  }
  return [...byId.values()].sort((a, b) => kindOrder(a.kind, b.kind) || a.name.localeCompare(b.name));
}

/** The key a policy of `kind` keeps its state in. */
export function stateKey(kind: PolicyKind, prefix: string, name: string): string {
  if (kind === 'circuitbreaker') return breakerKey(prefix, name);
  if (kind === 'ratelimiter') return rateLimiterKey(prefix, name);
  return bulkheadKeys(prefix, name).leases;
}

/** Reads the policy of `kind` named `name`; undefined when its state is not in Redis. */
export function readPolicy(
  conn: Connection,
  prefix: string,
  kind: PolicyKind,
  name: string,
  nowMs: number,
): Promise<PolicyStatus | undefined> {
  if (kind === 'circuitbreaker') return readBreaker(conn, prefix, name, nowMs);
  if (kind === 'ratelimiter') return readRateLimiter(conn, prefix, name);
  return readBulkhead(conn, prefix, name, nowMs);
}

/**
 * The entries of a scan, each read by its kind; an entry of a kind the CLI does not read, or whose
 * state key is gone (only other keys of it are left), stays as found.
 */
export async function readPolicies(
  conn: Connection,
  prefix: string,
  entries: readonly PolicyEntry[],
  nowMs: number,
): Promise<(PolicyStatus | PolicyEntry)[]> {
  return Promise.all(
    entries.map(
      async (e) => (isKind(e.kind) ? await readPolicy(conn, prefix, e.kind, e.name, nowMs) : undefined) ?? e,
    ),
  );
}

/** The kinds of policy named `name` under `prefix`, those whose state is in Redis. */
export async function kindsNamed(conn: Connection, prefix: string, name: string): Promise<PolicyKind[]> {
  const exists = await Promise.all(KINDS.map((kind) => conn.exists(stateKey(kind, prefix, name))));
  return KINDS.filter((_, i) => exists[i] === 1);
}
