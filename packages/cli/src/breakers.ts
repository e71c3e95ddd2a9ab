import {
  BREAKER_SCRIPT,
  breakerKey,
  forcedTransitionArgs,
  numberOr,
  parseBreakerReply,
  rateOf,
  readBreakerDocument,
  readStoredConfig,
  windowCountsAt,
} from '@breakwater/store-redis/wire';
import { type BreakerSettingsView, breakerSettings } from './config-view.js';
import { type Connection, ttlOf } from './connection.js';

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
  /** The config of the services using it, as the stored state records it, typed; null when absent. */
  readonly config: BreakerSettingsView | null;
  /** Time left before the idle key expires (ms); null without expiry. */
  readonly ttlMs: number | null;
  /** Why the state could not be read (with state INVALID). */
  readonly problem?: string;
}

/** Reads a breaker's stored state; undefined when there is no such key. */
export async function readBreaker(
  conn: Connection,
  prefix: string,
  name: string,
  nowMs: number,
): Promise<BreakerStatus | undefined> {
  const key = breakerKey(prefix, name);
  const [raw, pttl] = await Promise.all([conn.get(key), conn.pttl(key)]);
  if (raw === null) return undefined;
  return statusOf(name, key, raw, pttl, nowMs);
}

/** What the CLI shows of a stored document (`raw`), its counts decayed to `nowMs` as the script would. */
export function statusOf(name: string, key: string, raw: string, pttl: number, nowMs: number): BreakerStatus {
  const ttlMs = ttlOf(pttl);
  const read = readBreakerDocument(raw);
  if ('problem' in read) {
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
      problem: `the key holds ${read.problem}: the next call of a service resets it`,
    };
  }
  const { doc } = read;
  const w = doc.window;
  const counts = windowCountsAt(w, nowMs);
  const [calls, failures, slow, , minimumCalls] = counts;
  const config = readStoredConfig(doc.cfg);
  return {
    kind: 'circuitbreaker',
    name,
    key,
    state: doc.state,
    since: numberOr(doc.since, Number.NaN) || null,
    openUntil: doc.state === 'OPEN' ? numberOr(doc.openUntil) : null,
    failureRate: rateOf(failures, counts),
    slowCallRate: rateOf(slow, counts),
    bufferedCalls: calls,
    failedCalls: failures,
    slowCalls: slow,
    successfulCalls: calls - failures,
    notPermittedCalls: numberOr(doc.notPermitted),
    consecutiveFailures: numberOr(doc.consecutiveFailures),
    halfOpenPermitsLeft: doc.state === 'HALF_OPEN' ? numberOr(doc.halfOpenAvailable) : null,
    openAttempts: numberOr(doc.attempts),
    window: {
      type: w.type === 'TIME' ? 'TIME_BASED' : w.type === 'COUNT' ? 'COUNT_BASED' : null,
      size: numberOr(w.size),
      minimumCalls,
    },
    config: config === undefined ? null : breakerSettings(config),
    ttlMs,
  };
}

/** Reads many breakers at once (one round trip on a single node). */
export async function readBreakers(
  conn: Connection,
  prefix: string,
  names: readonly string[],
  nowMs: number,
): Promise<BreakerStatus[]> {
  const read = await Promise.all(names.map((n) => readBreaker(conn, prefix, n, nowMs)));
  return read.filter((s): s is BreakerStatus => s !== undefined);
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

type ScriptCall = (key: string, ...args: string[]) => Promise<string | number>;

/**
 * Makes a manual transition by running the breaker's own Lua script (as @breakwater/store-redis
 * ships it) on its key, with the config the services stored with the state (`cfg`): the same state
 * machine, one atomic step, and the transition is published on the fleet's channel like any other,
 * so every process sees it.
 */
export async function forceBreaker(
  conn: Connection,
  prefix: string,
  name: string,
  target: ForceTarget,
  origin: string,
): Promise<ForceResult> {
  const key = breakerKey(prefix, name);
  const raw = await conn.get(key);
  if (raw === null) return { found: false, legal: false, transitions: [], before: '' };
  const read = readBreakerDocument(raw);
  if ('problem' in read)
    throw new UnforceableBreakerError(`${name}: the key holds no breaker state (${read.problem})`);
  const { doc } = read;
  const config = readStoredConfig(doc.cfg);
  if (config === undefined) {
    throw new UnforceableBreakerError(
      `${name}: the stored state carries no usable config (written by another Breakwater version?); ` +
        'make one call through the breaker with this version, then try again',
    );
  }
  const conns = conn as Connection & Record<string, ScriptCall | undefined>;
  if (typeof conns[BREAKER_SCRIPT.name] !== 'function') {
    conn.defineCommand(BREAKER_SCRIPT.name, { numberOfKeys: 1, lua: BREAKER_SCRIPT.lua });
  }
  const call = conns[BREAKER_SCRIPT.name] as ScriptCall;
  const reply = parseBreakerReply(
    String(await call.call(conn, key, ...forcedTransitionArgs(config, target, origin))),
  );
  return {
    found: true,
    legal: reply.r[0] === 1,
    transitions: reply.t.map((t) => ({ from: t.from, to: t.to })),
    before: doc.state,
  };
}
