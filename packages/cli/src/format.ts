import type { BreakerStatus, PolicyEntry } from './breakers.js';
import { settingText } from './config-view.js';

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

/** The table of `breakwater list`: every policy, breakers with their state. */
export function policyTable(
  entries: readonly PolicyEntry[],
  breakers: ReadonlyMap<string, BreakerStatus>,
  nowMs: number,
): string {
  const rows = entries.map((e) => {
    const b = e.kind === 'circuitbreaker' ? breakers.get(e.name) : undefined;
    return b === undefined ? [e.kind, e.name] : [e.kind, ...breakerRow(b, nowMs)];
  });
  return table(['KIND', ...BREAKER_HEADER], rows);
}

/** The table of `breakwater watch`: one row per breaker. */
export function breakerTable(breakers: readonly BreakerStatus[], nowMs: number): string {
  return table(
    BREAKER_HEADER,
    breakers.map((b) => breakerRow(b, nowMs)),
  );
}

/** The block of `breakwater status <name>`. */
export function statusBlock(b: BreakerStatus, nowMs: number): string {
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
  const width = Math.max(...lines.map(([k]) => k.length));
  return [`${b.name} (circuit breaker)`, ...lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}
