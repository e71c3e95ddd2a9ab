import type { BreakerStatus } from './breakers.js';
import type { BulkheadStatus } from './bulkheads.js';
import { settingText } from './config-view.js';
import type { PolicyEntry, PolicyStatus } from './policies.js';
import type { RateLimiterStatus } from './rate-limiters.js';

/** `62.5%`, or `-` for a rate not computed yet (-1: below the minimum number of calls). */
export function percent(rate: number): string {
  return rate < 0 ? '-' : `${Number.isInteger(rate) ? rate : rate.toFixed(1)}%`;
}

/** `1 call`, `2 calls`, `0 calls`: a count and its noun, singular only for one. */
export function plural(n: number, noun: string, nounPlural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nounPlural}`;
}

/** `850ms`, `12s`, `3m 05s`, `2h 10m`, `4d 1h`. */
export function duration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const BREAKER_HEADER = ['NAME', 'STATE', 'FAILURE', 'SLOW', 'BUFFERED', 'FAILED', 'NOT PERMITTED', 'SINCE'];

function breakerRow(b: BreakerStatus, nowMs: number): string[] {
  return [
    b.name,
    b.state,
    percent(b.failureRate),
    percent(b.slowCallRate),
    String(b.bufferedCalls),
    String(b.failedCalls),
    String(b.notPermittedCalls),
    b.since === null ? '-' : duration(nowMs - b.since),
  ];
}

/** `in 12s`, or `now` for a moment already past. */
function inTime(atMs: number, nowMs: number): string {
  return atMs <= nowMs ? 'now' : `in ${duration(atMs - nowMs)}`;
}

const RATE_LIMITER_HEADER = ['KIND', 'NAME', 'ALGORITHM', 'PERMITS', 'REFILLED IN'];

/** What a rate limiter's state says of its permits. */
function permitsText(r: RateLimiterStatus, nowMs: number): string {
  if (r.algorithm === 'gcra') {
    const next = r.nextPermitAt ?? 0;
    return next <= nowMs ? 'a permit is free now' : `next permit ${inTime(next, nowMs)}`;
  }
  if ((r.permitsReserved ?? 0) > 0) {
    return `none left, ${plural(r.permitsReserved ?? 0, 'permit')} of later periods reserved`;
  }
  return `${plural(r.permitsLeft ?? 0, 'permit')} left in this period`;
}

function rateLimiterRow(r: RateLimiterStatus, nowMs: number): string[] {
  const refilled = r.ttlMs === null ? '-' : duration(r.ttlMs);
  if (r.problem !== undefined) return [r.kind, r.name, r.algorithm, '-', refilled];
  return [r.kind, r.name, r.algorithm, permitsText(r, nowMs), refilled];
}

const BULKHEAD_HEADER = ['KIND', 'NAME', 'LEASES HELD', 'NEXT EXPIRY', 'CALLERS WAITING'];

function bulkheadRow(b: BulkheadStatus, nowMs: number): string[] {
  if (b.problem !== undefined) return [b.kind, b.name, 'INVALID', '-', '-'];
  const expired = b.expiredLeases > 0 ? ` (+${b.expiredLeases} expired)` : '';
  const next = b.leases[0];
  return [
    b.kind,
    b.name,
    `${plural(b.leasesHeld, 'lease')}${expired}`,
    next === undefined ? '-' : inTime(next.expiresAt, nowMs),
    b.callersWaiting ? 'yes' : 'no',
  ];
}

/**
 * The tables of `breakwater list`, one per kind (each with the columns its state has): breakers,
 * rate limiters, bulkheads, then what the CLI cannot read (a kind it does not know, a policy of
 * which only other keys are left) with its keys; a blank line between them.
 */
export function policyTables(policies: readonly (PolicyStatus | PolicyEntry)[], nowMs: number): string {
  const read = policies.filter((p): p is PolicyStatus => 'key' in p);
  const of = <K extends PolicyStatus['kind']>(kind: K) =>
    read.filter((p): p is Extract<PolicyStatus, { kind: K }> => p.kind === kind);
  const unread = policies.filter((p): p is PolicyEntry => !('key' in p));
  const tables = [
    [['KIND', ...BREAKER_HEADER], of('circuitbreaker').map((b) => [b.kind, ...breakerRow(b, nowMs)])],
    [RATE_LIMITER_HEADER, of('ratelimiter').map((r) => rateLimiterRow(r, nowMs))],
    [BULKHEAD_HEADER, of('bulkhead').map((b) => bulkheadRow(b, nowMs))],
    [['KIND', 'NAME', 'KEYS'], unread.map((e) => [e.kind, e.name, e.keys.join(' ')])],
  ] as const;
  return tables
    .filter(([, rows]) => rows.length > 0)
    .map(([header, rows]) => table(header, rows))
    .join('\n\n');
}

/** The table of `breakwater watch`: one row per breaker. */
export function breakerTable(breakers: readonly BreakerStatus[], nowMs: number): string {
  return table(
    BREAKER_HEADER,
    breakers.map((b) => breakerRow(b, nowMs)),
  );
}

/** The block of `breakwater status <name>`. */
export function statusBlock(p: PolicyStatus, nowMs: number): string {
  if (p.kind === 'ratelimiter') return rateLimiterBlock(p, nowMs);
  if (p.kind === 'bulkhead') return bulkheadBlock(p, nowMs);
  return breakerBlock(p, nowMs);
}

/** A title line, then `key  value` lines with the keys in one column. */
function block(title: string, lines: readonly (readonly [string, string])[]): string {
  const width = Math.max(...lines.map(([k]) => k.length));
  return [title, ...lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`.trimEnd())].join('\n');
}

function rateLimiterBlock(r: RateLimiterStatus, nowMs: number): string {
  const lines: [string, string][] = [];
  if (r.problem !== undefined) {
    lines.push(['state', `INVALID: ${r.problem}`]);
  } else {
    lines.push(['algorithm', r.algorithm]);
    if (r.algorithm === 'gcra') {
      lines.push(['next permit', inTime(r.nextPermitAt ?? 0, nowMs)]);
    } else {
      const reserved = r.permitsReserved ?? 0;
      lines.push([
        'permits',
        reserved > 0
          ? `none left: ${plural(reserved, 'permit')} of later periods reserved by callers waiting for them`
          : `${r.permitsLeft ?? 0} left in this period`,
      ]);
    }
    // The state string holds neither limitForPeriod nor limitRefreshPeriod: the services' config.
    lines.push(['refilled', r.ttlMs === null ? '-' : `in ${duration(r.ttlMs)} (its key is deleted then)`]);
  }
  lines.push(['key', r.key]);
  return block(`${r.name} (rate limiter)`, lines);
}

/** Lease lines shown at most; the rest are counted. */
const MAX_LEASES_SHOWN = 10;

function bulkheadBlock(b: BulkheadStatus, nowMs: number): string {
  const lines: [string, string][] = [];
  if (b.problem !== undefined) {
    lines.push(['state', `INVALID: ${b.problem}`]);
  } else {
    const renewed =
      b.leasesHeld === 1 ? ', renewed while its call runs' : ', each renewed while its call runs';
    lines.push(['leases held', `${b.leasesHeld}${b.leasesHeld > 0 ? renewed : ''}`]);
    for (const lease of b.leases.slice(0, MAX_LEASES_SHOWN)) {
      lines.push([`  ${lease.id}`, `expires ${inTime(lease.expiresAt, nowMs)} unless renewed`]);
    }
    if (b.leases.length > MAX_LEASES_SHOWN)
      lines.push(['', `and ${b.leases.length - MAX_LEASES_SHOWN} more`]);
    if (b.expiredLeases > 0) {
      lines.push([
        'expired leases',
        `${b.expiredLeases} (no longer renewed by their process: the next call reclaims them)`,
      ]);
    }
    lines.push([
      'callers waiting',
      b.callersWaiting ? 'yes (refused a slot, they wait for a release)' : 'no',
    ]);
  }
  lines.push(['key', b.key]);
  lines.push(['expires', b.ttlMs === null ? 'never' : `in ${duration(b.ttlMs)} unless used`]);
  return block(`${b.name} (bulkhead)`, lines);
}

function breakerBlock(b: BreakerStatus, nowMs: number): string {
  const lines: [string, string][] = [];
  if (b.problem !== undefined) {
    lines.push(['state', `INVALID: ${b.problem}`]);
  } else {
    let state = b.state;
    if (b.since !== null) state += ` for ${duration(nowMs - b.since)}`;
    if (b.openUntil !== null) {
      state +=
        nowMs >= b.openUntil
          ? ' (wait over: the next call goes through as a probe)'
          : ` (waits ${duration(b.openUntil - nowMs)} more, then lets probes through)`;
    }
    if (b.halfOpenPermitsLeft !== null) state += ` (${plural(b.halfOpenPermitsLeft, 'probe permit')} left)`;
    lines.push(['state', state]);
    const cfg = b.config;
    const of = (n: number) => `${n} of ${plural(b.bufferedCalls, 'buffered call')}`;
    lines.push([
      'failure rate',
      `${percent(b.failureRate)} (${of(b.failedCalls)}${cfg ? `; opens at ${cfg.failureRateThreshold}%` : ''})`,
    ]);
    lines.push([
      'slow-call rate',
      `${percent(b.slowCallRate)} (${of(b.slowCalls)}${cfg ? `; opens at ${cfg.slowCallRateThreshold}%` : ''})`,
    ]);
    lines.push(['not permitted', `${plural(b.notPermittedCalls, 'call')} refused in this state`]);
    lines.push(['consecutive failures', String(b.consecutiveFailures)]);
    lines.push(['open attempts', String(b.openAttempts)]);
    lines.push([
      'window',
      `${b.window.type ?? '?'}, size ${b.window.size}, minimum ${plural(b.window.minimumCalls, 'call')}` +
        (b.failureRate < 0 && b.bufferedCalls < b.window.minimumCalls ? ' (rates not computed yet)' : ''),
    ]);
    if (cfg !== null) {
      const shown = Object.entries(cfg)
        .flatMap(([k, v]) => settingText(k, v) ?? [])
        .join(' ');
      lines.push(['config', shown]);
    }
  }
  lines.push(['key', b.key]);
  lines.push(['expires', b.ttlMs === null ? 'never' : `in ${duration(b.ttlMs)} unless used`]);
  return block(`${b.name} (circuit breaker)`, lines);
}
