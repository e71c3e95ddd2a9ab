/**
 * The breaker script's config: the arguments that shape a breaker's state (ARGV[2] of
 * `breaker.lua`), declared once. RedisStore sends them packed: their values in BREAKER_CONFIG's
 * order, joined by newlines (no value holds one: policy names have no control characters), with
 * `origin` left empty, as a JSON string; the stored document keeps that string as `cfg`, so that
 * operator tools can run the script on a breaker whose config they do not know
 * (`forcedTransitionArgs` in breaker-ops.ts).
 */
import { type ArgValues, argList, type ScriptArg } from './script-args.js';

interface BreakerConfigArg extends ScriptArg {
  /** The circuit breaker setting it carries, as operator tools show it (absent: the store's own). */
  readonly shows?: string;
  /** Not stored: sent on its own (ARGV[3]), its place in the config left empty. */
  readonly apart?: true;
}

export const BREAKER_CONFIG = [
  /** The key's expiry (ms), renewed by every write. */
  { name: 'ttlMs', type: 'number' },
  /** 'COUNT' or 'TIME'. */
  { name: 'windowType', type: 'string', shows: 'slidingWindowType' },
  { name: 'windowSize', type: 'number', shows: 'slidingWindowSize' },
  /** The minimum number of calls in CLOSED (and METRICS_ONLY). */
  { name: 'closedMin', type: 'number', shows: 'minimumNumberOfCalls' },
  { name: 'halfOpenMin', type: 'number' },
  { name: 'failureRateThreshold', type: 'number', shows: 'failureRateThreshold' },
  { name: 'slowCallRateThreshold', type: 'number', shows: 'slowCallRateThreshold' },
  { name: 'permitted', type: 'number', shows: 'permittedNumberOfCallsInHalfOpenState' },
  { name: 'maxWaitHalfOpen', type: 'number', shows: 'maxWaitDurationInHalfOpenState' },
  /** Where HALF_OPEN goes when its max wait runs out: 'OPEN' or 'CLOSED'. */
  { name: 'afterWaitTarget', type: 'string' },
  { name: 'automatic', type: 'flag', shows: 'automaticTransitionFromOpenToHalfOpenEnabled' },
  { name: 'failureCountThreshold', type: 'number', shows: 'failureCountThreshold' },
  { name: 'consecutiveThreshold', type: 'number', shows: 'consecutiveFailureThreshold' },
  { name: 'halfOpenPolicy', type: 'string', shows: 'halfOpenPolicy' },
  { name: 'successThreshold', type: 'number' },
  /** How long a half-open probe's lease lasts (ms). */
  { name: 'leaseMs', type: 'number' },
  /** The events channel, or '' to publish nothing. */
  { name: 'channel', type: 'string' },
  { name: 'name', type: 'string' },
  /** The process that sent the batch, named in the events it publishes. */
  { name: 'origin', type: 'string', apart: true },
  /** The open waits for attempts 1, 2, ... (the last one repeats). */
  { name: 'waits', type: 'numbers', shows: 'waitDurationInOpenState' },
] as const satisfies readonly BreakerConfigArg[];

export type BreakerConfigName = (typeof BREAKER_CONFIG)[number]['name'];

/** A breaker's config by name, as the script takes it (the origin travels apart). */
export type BreakerConfigValues = Omit<ArgValues<typeof BREAKER_CONFIG>, 'origin'>;

/** The packed config (ARGV[2]): a JSON string, exactly as the document stores it as `cfg`. */
export function packBreakerConfig(values: BreakerConfigValues): string {
  const lines = argList(BREAKER_CONFIG, { ...values, origin: '' });
  return JSON.stringify(lines.join('\n'));
}

/**
 * A stored `cfg` read back by name: the packed text (as stored since the fast path), or the
 * arguments as an array (the first stored format). Undefined when it is neither, or holds another
 * number of arguments than BREAKER_CONFIG.
 */
export function readStoredConfig(cfg: unknown): BreakerConfigValues | undefined {
  let parts: string[];
  if (typeof cfg === 'string') {
    parts = cfg.split('\n');
  } else if (Array.isArray(cfg) && cfg.every((x) => typeof x === 'string' || typeof x === 'number')) {
    parts = cfg.map(String);
  } else {
    return undefined;
  }
  if (parts.length !== BREAKER_CONFIG.length) return undefined;
  const values: Record<string, string> = {};
  BREAKER_CONFIG.forEach((arg, i) => {
    if (!('apart' in arg)) values[arg.name] = parts[i] ?? '';
  });
  return values as unknown as BreakerConfigValues;
}

/** The breaker settings a stored config carries, named as users configure them (for display). */
export function describeBreakerConfig(values: BreakerConfigValues): Record<string, string> {
  const byName = values as unknown as Readonly<Record<string, string | number>>;
  const out: Record<string, string> = {};
  for (const arg of BREAKER_CONFIG as readonly BreakerConfigArg[]) {
    if (arg.shows === undefined) continue;
    const value = String(byName[arg.name] ?? '');
    if (arg.name === 'windowType') out[arg.shows] = value === 'TIME' ? 'TIME_BASED' : 'COUNT_BASED';
    else if (arg.type === 'flag') out[arg.shows] = value === '1' ? 'true' : 'false';
    else out[arg.shows] = value;
  }
  return out;
}
