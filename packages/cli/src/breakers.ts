import type { Cluster, Redis } from 'ioredis';
import type { BreakerScript } from './breaker-script.js';

export type Connection = Redis | Cluster;

/** Short kinds in key hash tags (`{cb:<name>}`) and what they are. */
export const KINDS: Readonly<Record<string, string>> = {
  cb: 'circuitbreaker',
  rl: 'ratelimiter',
  bh: 'bulkhead',
};

/** The key of a breaker's state: `<prefix>:{cb:<name>}:state`. */
export function breakerKey(prefix: string, name: string): string {
  return `${prefix}:{cb:${name}}:state`;
}

/** A policy found in Redis: its kind, its name and its keys. */
export interface PolicyEntry {
  /** `circuitbreaker`, `ratelimiter`, `bulkhead`, or the short kind of a kind this CLI does not know. */
  readonly kind: string;
  readonly name: string;
  readonly keys: string[];
}

/** Reads `<prefix>:{<kind>:<name>}:<suffix>`; undefined for any other key. */
export function parseKey(prefix: string, key: string): { kind: string; name: string } | undefined {
  const head = `${prefix}:{`;
  if (!key.startsWith(head)) return undefined;
  const rest = key.slice(head.length);
  const colon = rest.indexOf(':');
  const close = rest.lastIndexOf('}'); // a name may hold ':' or '}'; a suffix holds neither '}'
  if (colon <= 0 || close <= colon || rest[close + 1] !== ':') return undefined;
  const short = rest.slice(0, colon);
  return { kind: KINDS[short] ?? short, name: rest.slice(colon + 1, close) };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function isCluster(conn: Connection): conn is Cluster {
  return (conn as { isCluster?: boolean }).isCluster === true;
}

/** Every key under `<prefix>:{`, with SCAN (never KEYS), on every master of a cluster. */
export async function scanKeys(conn: Connection, prefix: string): Promise<string[]> {
  const nodes: Redis[] = isCluster(conn) ? conn.nodes('master') : [conn];
  const keys = new Set<string>();
  for (const node of nodes) {
    const stream = node.scanStream({ match: `${escapeGlob(prefix)}:{*`, count: 1000 });
    for await (const batch of stream as AsyncIterable<string[]>) for (const key of batch) keys.add(key);
  }
  return [...keys].sort();
}

/** The policies under `prefix`, sorted by kind and name. */
export async function scanPolicies(conn: Connection, prefix: string): Promise<PolicyEntry[]> {
  const byId = new Map<string, PolicyEntry>();
  for (const key of await scanKeys(conn, prefix)) {
    const parsed = parseKey(prefix, key);
    if (parsed === undefined) continue;
    const id = `${parsed.kind}\u0000${parsed.name}`;
    let entry = byId.get(id);
    if (entry === undefined) {
      entry = { kind: parsed.kind, name: parsed.name, keys: [] };
      byId.set(id, entry);
    }
    entry.keys.push(key);
  }
  return [...byId.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}

/** What the CLI shows of a breaker: its shared state as stored, read without changing it. */
export interface BreakerStatus {
  readonly kind: 'circuitbreaker';
  readonly name: string;
  readonly key: string;
  /** CLOSED, OPEN, HALF_OPEN, DISABLED, FORCED_OPEN, METRICS_ONLY; INVALID when the key holds no breaker state. */
  readonly state: string;
  /** When the breaker entered its state (epoch ms). */
  readonly since: number | null;
  /** OPEN only: when the wait ends (epoch ms); the next call after it is let through as a probe. */
  readonly openUntil: number | null;
  /** Percent; -1 below the minimum number of calls. */
  readonly failureRate: number;
  readonly slowCallRate: number;
  readonly bufferedCalls: number;
  readonly failedCalls: number;
  readonly slowCalls: number;
  readonly successfulCalls: number;
  /** Calls refused since the breaker entered its state (fleet-wide). */
  readonly notPermittedCalls: number;
  readonly consecutiveFailures: number;
  /** HALF_OPEN only: probe permits not handed out yet. */
  readonly halfOpenPermitsLeft: number | null;
  /** How many times in a row it has opened (drives a growing open wait). */
  readonly openAttempts: number;
  readonly window: {
    readonly type: 'COUNT_BASED' | 'TIME_BASED' | null;
    readonly size: number;
    readonly minimumCalls: number;
  };
  /** The config of the services using it, as the stored state records it; null when absent. */
  readonly config: Readonly<Record<string, string>> | null;
  /** Time left before the idle key expires (ms); null without expiry. */
  readonly ttlMs: number | null;
  /** Why the state could not be read (with state INVALID). */
  readonly problem?: string;
}

interface StoredWindow {
  type?: unknown;
  size?: unknown;
  calls?: unknown;
  failures?: unknown;
  slow?: unknown;
  slowFailures?: unknown;
  minimumCalls?: unknown;
  lastSecond?: unknown;
  bucketCalls?: unknown;
  bucketFailures?: unknown;
  bucketSlow?: unknown;
  bucketSlowFailures?: unknown;
}

interface StoredState {
  state?: unknown;
  since?: unknown;
  openUntil?: unknown;
  attempts?: unknown;
  halfOpenAvailable?: unknown;
  consecutiveFailures?: unknown;
  notPermitted?: unknown;
  window?: StoredWindow;
  cfg?: unknown;
}

const num = (v: unknown, fallback = 0): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : fallback;

function rate(part: number, calls: number, minimumCalls: number): number {
  return calls === 0 || calls < minimumCalls ? -1 : (part * 100) / calls;
}

/**
 * The window's counts at `nowMs`. A TIME_BASED window is decayed as the script would on its next
 * read (buckets older than the window drop out), without writing anything back.
 */
function countsAt(w: StoredWindow, nowMs: number): { calls: number; failures: number; slow: number } {
  let calls = num(w.calls);
  let failures = num(w.failures);
  let slow = num(w.slow);
  if (w.type === 'TIME') {
    const size = num(w.size, 1);
    const elapsed = Math.floor(nowMs / 1000) - num(w.lastSecond);
    const list = (v: unknown): number[] => (Array.isArray(v) ? v.map((x) => num(x)) : []);
    if (elapsed >= size) {
      calls = 0;
      failures = 0;
      slow = 0;
    } else if (elapsed > 0) {
      const bc = list(w.bucketCalls);
      const bf = list(w.bucketFailures);
      const bs = list(w.bucketSlow);
      for (let s = num(w.lastSecond) + 1; s <= num(w.lastSecond) + elapsed; s++) {
        const i = ((s % size) + size) % size;
        calls -= bc[i] ?? 0;
        failures -= bf[i] ?? 0;
        slow -= bs[i] ?? 0;
      }
    }
  }
  return { calls, failures, slow };
}

const CONFIG_FIELDS: Readonly<Record<string, string>> = {
  windowType: 'slidingWindowType',
  windowSize: 'slidingWindowSize',
  closedMin: 'minimumNumberOfCalls',
  failureRateThreshold: 'failureRateThreshold',
  slowCallRateThreshold: 'slowCallRateThreshold',
  permitted: 'permittedNumberOfCallsInHalfOpenState',
  maxWaitHalfOpen: 'maxWaitDurationInHalfOpenState',
  automatic: 'automaticTransitionFromOpenToHalfOpenEnabled',
  failureCountThreshold: 'failureCountThreshold',
  consecutiveThreshold: 'consecutiveFailureThreshold',
  halfOpenPolicy: 'halfOpenPolicy',
  waits: 'waitDurationInOpenState',
};

/**
 * The stored `cfg`: the script's arguments after `now`, joined by newlines (no argument holds one:
 * policy names have no control characters), or as an array (the first stored format). Undefined
 * when it is neither, or does not fit the script.
 */
function storedConfig(doc: StoredState, script: BreakerScript | undefined): string[] | undefined {
  let cfg: string[];
  if (typeof doc.cfg === 'string') {
    cfg = doc.cfg.split('\n');
  } else if (Array.isArray(doc.cfg) && doc.cfg.every((x) => typeof x === 'string' || typeof x === 'number')) {
    cfg = doc.cfg.map(String);
  } else {
    return undefined;
  }
  if (script !== undefined && cfg.length !== script.args.length - 1) return undefined;
  return cfg;
}

function describeConfig(
  cfg: string[] | undefined,
  script: BreakerScript | undefined,
): Record<string, string> | null {
  if (cfg === undefined || script === undefined) return null;
  const out: Record<string, string> = {};
  script.args.slice(1).forEach((arg, i) => {
    const field = CONFIG_FIELDS[arg];
    if (field === undefined) return;
    let value = cfg[i];
    if (arg === 'windowType') value = value === 'TIME' ? 'TIME_BASED' : 'COUNT_BASED';
    if (arg === 'automatic') value = value === '1' ? 'true' : 'false';
    out[field] = value;
  });
  return out;
}

/** Reads a breaker's stored state; undefined when there is no such key. */
export async function readBreaker(
  conn: Connection,
  prefix: string,
  name: string,
  nowMs: number,
  script: BreakerScript | undefined,
): Promise<BreakerStatus | undefined> {
  const key = breakerKey(prefix, name);
  const [raw, pttl] = await Promise.all([conn.get(key), conn.pttl(key)]);
  if (raw === null) return undefined;
  return statusOf(name, key, raw, pttl, nowMs, script);
}

export function statusOf(
  name: string,
  key: string,
  raw: string,
  pttl: number,
  nowMs: number,
  script: BreakerScript | undefined,
): BreakerStatus {
  const ttlMs = pttl >= 0 ? pttl : null;
  let doc: StoredState | undefined;
  let problem: string | undefined;
  try {
    doc = JSON.parse(raw) as StoredState;
    if (typeof doc !== 'object' || doc === null) problem = 'not a JSON object';
    else if (typeof doc.state !== 'string') problem = 'no state';
    else if (typeof doc.window !== 'object' || doc.window === null) problem = 'no window';
  } catch {
    problem = 'not JSON';
  }
  if (doc === undefined || problem !== undefined) {
    return {
      kind: 'circuitbreaker',
      name,
      key,
      state: 'INVALID',
      since: null,
      openUntil: null,
      failureRate: -1,
      slowCallRate: -1,
      bufferedCalls: 0,
      failedCalls: 0,
      slowCalls: 0,
      successfulCalls: 0,
      notPermittedCalls: 0,
      consecutiveFailures: 0,
      halfOpenPermitsLeft: null,
      openAttempts: 0,
      window: { type: null, size: 0, minimumCalls: 0 },
      config: null,
      ttlMs,
      problem: `the key holds ${problem ?? 'something else'}: the next call of a service resets it`,
    };
  }
  const w = doc.window as StoredWindow;
  const { calls, failures, slow } = countsAt(w, nowMs);
  const min = num(w.minimumCalls);
  const state = doc.state as string;
  return {
    kind: 'circuitbreaker',
    name,
    key,
    state,
    since: num(doc.since, Number.NaN) || null,
    openUntil: state === 'OPEN' ? num(doc.openUntil) : null,
    failureRate: rate(failures, calls, min),
    slowCallRate: rate(slow, calls, min),
    bufferedCalls: calls,
    failedCalls: failures,
    slowCalls: slow,
    successfulCalls: calls - failures,
    notPermittedCalls: num(doc.notPermitted),
    consecutiveFailures: num(doc.consecutiveFailures),
    halfOpenPermitsLeft: state === 'HALF_OPEN' ? num(doc.halfOpenAvailable) : null,
    openAttempts: num(doc.attempts),
    window: {
      type: w.type === 'TIME' ? 'TIME_BASED' : w.type === 'COUNT' ? 'COUNT_BASED' : null,
      size: num(w.size),
      minimumCalls: min,
    },
    config: describeConfig(storedConfig(doc, script), script),
    ttlMs,
  };
}

/** Reads many breakers at once (one round trip on a single node). */
export async function readBreakers(
  conn: Connection,
  prefix: string,
  names: readonly string[],
  nowMs: number,
  script: BreakerScript | undefined,
): Promise<BreakerStatus[]> {
  const read = await Promise.all(names.map((n) => readBreaker(conn, prefix, n, nowMs, script)));
  return read.filter((s): s is BreakerStatus => s !== undefined);
}

/** Redis's clock (epoch ms): the clock every breaker decision is made on. */
export async function redisNow(conn: Connection): Promise<number> {
  const [seconds, micros] = await (conn as Redis).time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** A manual transition: FORCED_OPEN, CLOSED, DISABLED, or RESET (CLOSED with an empty window). */
export type ForceTarget = 'FORCED_OPEN' | 'CLOSED' | 'DISABLED' | 'RESET';

export interface ForceResult {
  /** False: there is no breaker of that name (nothing was written). */
  readonly found: boolean;
  /** False: the transition is not allowed from the current state (nothing changed). */
  readonly legal: boolean;
  /** The transitions made (none when the breaker was already in the target state). */
  readonly transitions: readonly { readonly from: string; readonly to: string }[];
  /** The state before the command. */
  readonly before: string;
}

/** The stored state exists but cannot be driven by the script (no or bad `cfg`). */
export class UnforceableBreakerError extends Error {
  override name = 'UnforceableBreakerError';
}

const SCRIPT_COMMAND = 'breakwaterBreaker';
type ScriptCall = (key: string, ...args: string[]) => Promise<string>;

/**
 * Makes a manual transition by running the breaker's own Lua script on its key, with the arguments
 * the services stored with the state (`cfg`): the same state machine, one atomic step, and the
 * transition is published on the fleet's channel like any other, so every process sees it.
 */
export async function forceBreaker(
  conn: Connection,
  script: BreakerScript,
  prefix: string,
  name: string,
  target: ForceTarget,
  origin: string,
): Promise<ForceResult> {
  const key = breakerKey(prefix, name);
  const raw = await conn.get(key);
  if (raw === null) return { found: false, legal: false, transitions: [], before: '' };
  let doc: StoredState;
  try {
    doc = JSON.parse(raw) as StoredState;
  } catch {
    throw new UnforceableBreakerError(`${name}: the key holds no breaker state (not JSON)`);
  }
  const cfg = storedConfig(doc, script);
  if (cfg === undefined) {
    throw new UnforceableBreakerError(
      `${name}: the stored state carries no usable config (written by another Breakwater version?); ` +
        'make one call through the breaker with this version, then try again',
    );
  }
  const originAt = script.args.indexOf('origin') - 1;
  if (originAt >= 0) cfg[originAt] = origin;
  const conns = conn as Connection & Record<string, ScriptCall | undefined>;
  if (typeof conns[SCRIPT_COMMAND] !== 'function') {
    conn.defineCommand(SCRIPT_COMMAND, { numberOfKeys: 1, lua: script.lua });
  }
  const reply = JSON.parse(
    await (conns[SCRIPT_COMMAND] as ScriptCall).call(conn, key, '', ...cfg, 'T', target, '0', '0'),
  ) as {
    r?: unknown;
    t?: unknown;
  };
  const results = Array.isArray(reply.r) ? reply.r : [];
  const transitions = (Array.isArray(reply.t) ? reply.t : []) as { from: string; to: string }[];
  return {
    found: true,
    legal: results[0] === 1,
    transitions: transitions.map((t) => ({ from: t.from, to: t.to })),
    before: typeof doc.state === 'string' ? doc.state : 'INVALID',
  };
}
