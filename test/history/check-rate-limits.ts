/**
 * Rate limits per period, as the script (`store-redis/src/lua/rate-limiter.lua`) enforces them on Redis's clock.
 *
 * Every granted acquire has a "go" instant: when its permits are used. For an immediate grant
 * (wait 0) that is the script's `now`; for a reservation it is the instant the wait ends. The
 * script answers `ceil(go - now)`: with whole-ms `now` and periods, a fixed-window reservation goes
 * exactly at `now + wait`, at the start of a cycle; a GCRA one in `(now + wait - 1, now + wait]`.
 * The caller cannot see `now`, only that it lies between its call and the answer: each grant gets
 * an interval `[lo, hi]` that surely holds its go instant.
 *
 * - Fixed window: periods are aligned to the epoch, `cycle = floor(t / limitRefreshPeriod)`, and
 *   the permits going in one cycle never exceed `limitForPeriod` (immediate grants take what is
 *   left of the current cycle; reservations lie wholly in one later cycle, the room they skip
 *   lapses, and a new cycle starts from at most the limit). A grant whose interval spans a
 *   boundary could belong to either cycle, so the check is Hall's condition: for every run of
 *   cycles [a, b], the permits that must go within it are at most (b - a + 1) x limit. That is
 *   exactly "some assignment of grants to cycles respects the limit" (each grant may go in a
 *   contiguous range of cycles; permits counted one by one, which can only make the check weaker).
 * - GCRA (no burst tolerance): a request for k permits goes at `max(now, tat + (k-1)T)` and moves
 *   `tat` to that instant + kT (T = period / limit), so two requests going at s1 < s2 are at least
 *   (k1 + k2 - 1)T apart, up to the script's EPS (1e-6 ms) each. Summing over the requests of a
 *   window: requests with K permits in all span at least (K - 1)T, so any half-open window of
 *   length `limitRefreshPeriod` (less limit x EPS) holds at most `limitForPeriod` permits.
 *   Checked over the windows starting at each grant's `lo`, counting the grants surely inside.
 */

import type { History, RateGrant, Violation } from './history.js';
import { formatAt } from './history-format.js';

/** The script's GCRA slack per request (ms). */
const GCRA_EPS = 1e-6;
const MAX_REPORTED = 10;
const MAX_LISTED = 12;

export interface GoInterval {
  readonly grant: RateGrant;
  readonly lo: number;
  readonly hi: number;
}

/** The interval that surely holds a grant's go instant. */
export function goInterval(
  grant: RateGrant,
  tolerance: number,
  algorithm: 'fixed-window' | 'gcra',
): GoInterval {
  const wait = grant.waitMs;
  const rounding = algorithm === 'gcra' && wait > 0 ? 1 : 0;
  return {
    grant,
    lo: grant.calledAt - tolerance + wait - rounding,
    hi: grant.resolvedAt + tolerance + wait + (algorithm === 'gcra' ? GCRA_EPS : 0),
  };
}

function listGrants(items: readonly GoInterval[], origin: number): string {
  const shown = items
    .slice(0, MAX_LISTED)
    .map(
      (i) =>
        `worker ${i.grant.worker} ${i.grant.permits}p wait ${i.grant.waitMs} [${formatAt(i.grant.calledAt, origin)}..${formatAt(i.grant.resolvedAt, origin)}]`,
    );
  return shown.join(', ') + (items.length > MAX_LISTED ? `, and ${items.length - MAX_LISTED} more` : '');
}

/** Runs of cycles whose permits surely exceed the limit (Hall's condition), narrowest first per end. */
export function fixedWindowExcess(
  items: readonly GoInterval[],
  limit: number,
  period: number,
): { first: number; last: number; permits: number; items: GoInterval[] }[] {
  if (items.length === 0) return [];
  const cycles = items.map((i) => ({
    item: i,
    // a reservation goes at the start of a cycle: the first start at or after lo
    first: i.grant.waitMs > 0 ? Math.ceil(i.lo / period) : Math.floor(i.lo / period),
    last: Math.floor(i.hi / period),
  }));
  const min = Math.min(...cycles.map((c) => c.first));
  const max = Math.max(...cycles.map((c) => c.last));
  cycles.sort((x, y) => x.last - y.last);
  // permits of the grants seen so far (last <= b), by the first cycle they may go in
  const byFirst = new Array<number>(max - min + 1).fill(0);
  const found: { first: number; last: number; permits: number; items: GoInterval[] }[] = [];
  let next = 0;
  let reportedUpTo = Number.NEGATIVE_INFINITY;
  for (let b = min; b <= max; b++) {
    while (next < cycles.length && cycles[next].last === b) {
      byFirst[cycles[next].first - min] += cycles[next].item.grant.permits;
      next++;
    }
    let permits = 0;
    for (let a = b; a >= min; a--) {
      permits += byFirst[a - min];
      if (permits > (b - a + 1) * limit) {
        if (a > reportedUpTo) {
          found.push({
            first: a,
            last: b,
            permits,
            items: cycles.filter((c) => c.first >= a && c.last <= b).map((c) => c.item),
          });
          reportedUpTo = b;
        }
        break;
      }
    }
  }
  return found;
}

/** Windows of one period holding more than the limit, starting at each grant's earliest go instant. */
export function gcraExcess(
  items: readonly GoInterval[],
  limit: number,
  period: number,
): { start: number; permits: number; items: GoInterval[] }[] {
  const sorted = [...items].sort((x, y) => x.lo - y.lo);
  const length = period - limit * GCRA_EPS;
  const found: { start: number; permits: number; items: GoInterval[] }[] = [];
  let reportedUntil = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i].lo;
    if (start < reportedUntil) continue;
    const inside: GoInterval[] = [];
    let permits = 0;
    for (let j = i; j < sorted.length && sorted[j].lo < start + length; j++) {
      if (sorted[j].hi < start + length) {
        inside.push(sorted[j]);
        permits += sorted[j].grant.permits;
      }
    }
    if (permits > limit) {
      found.push({ start, permits, items: inside });
      reportedUntil = start + length;
    }
  }
  return found;
}

export function checkRateLimits(history: History): Violation[] {
  const violations: Violation[] = [];
  const origin = history.startedAt;
  for (const limiter of history.policies.rateLimiters) {
    const { name, limitForPeriod: limit, limitRefreshPeriod: period } = limiter;
    const items = history.rateGrants
      .filter((g) => g.name === name && g.source === 'redis' && g.waitMs >= 0)
      .map((g) => goInterval(g, history.toleranceMs, limiter.algorithm));
    if (limiter.algorithm === 'fixed-window') {
      for (const x of fixedWindowExcess(items, limit, period).slice(0, MAX_REPORTED)) {
        const cycles = x.first === x.last ? `cycle ${x.first}` : `cycles ${x.first}..${x.last}`;
        violations.push({
          invariant: 'rate-limit',
          policy: name,
          at: x.first * period,
          message:
            `${x.permits} Redis-granted permits must go in ${cycles} ` +
            `[${formatAt(x.first * period, origin)}, ${formatAt((x.last + 1) * period, origin)}), ` +
            `at most ${(x.last - x.first + 1) * limit} (${limit} per ${period} ms): ${listGrants(x.items, origin)}`,
        });
      }
    } else {
      for (const x of gcraExcess(items, limit, period).slice(0, MAX_REPORTED)) {
        violations.push({
          invariant: 'rate-limit',
          policy: name,
          at: x.start,
          message:
            `${x.permits} Redis-granted permits went within ${period} ms of ${formatAt(x.start, origin)}, ` +
            `at most ${limit}: ${listGrants(x.items, origin)}`,
        });
      }
    }
  }
  return violations;
}
