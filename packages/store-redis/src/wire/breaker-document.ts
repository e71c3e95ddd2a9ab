/**
 * The breaker's stored document (the value of `<prefix>:{cb:<name>}:state`): its fields in the one
 * order the script writes them, a tolerant reader for tools that show it, and what tools compute
 * from it as the engines do (counts to rates, a time window's decay at read time).
 */

import { rateOfCounts, type WindowCounts } from '@breakwater/core/engine';

/**
 * The document's fields, in the order `breaker.lua` writes them: the hot ones first, up to the
 * config (`cfg`), so that the script's fast path can read and rewrite the document with string
 * patterns. The patterns and the script's encoder are generated from this list
 * (`breaker-shapes.ts`).
 */
export const DOCUMENT_FIELDS = [
  'v',
  'state',
  'generation',
  'consecutiveFailures',
  'window',
  'cfg',
  'since',
  'openUntil',
  'attempts',
  'halfOpenAvailable',
  'notPermitted',
  'exceededReported',
  'leaseSeq',
  'leases',
] as const;

/** A COUNT window's fields, in the order the script writes them (a TIME window is cjson's). */
export const COUNT_WINDOW_FIELDS = [
  'type',
  'size',
  'calls',
  'failures',
  'slow',
  'slowFailures',
  'head',
  'minimumCalls',
  'ring',
] as const;

export type DocumentField = (typeof DOCUMENT_FIELDS)[number];
export type CountWindowField = (typeof COUNT_WINDOW_FIELDS)[number];

/** A window's counts as the script reports them (core's `WindowCounts`). */
export type Counts = WindowCounts;

/** A rate (percent) of `part` among the window's calls, or -1 below its minimum (core's one formula). */
export const rateOf: (part: number, counts: Counts) => number = rateOfCounts;

/** A stored window as read back, every field unchecked. */
export interface StoredWindow {
  readonly type?: unknown;
  readonly size?: unknown;
  readonly calls?: unknown;
  readonly failures?: unknown;
  readonly slow?: unknown;
  readonly slowFailures?: unknown;
  readonly minimumCalls?: unknown;
  readonly head?: unknown;
  readonly ring?: unknown;
  readonly lastSecond?: unknown;
  readonly bucketCalls?: unknown;
  readonly bucketFailures?: unknown;
  readonly bucketSlow?: unknown;
  readonly bucketSlowFailures?: unknown;
}

/** A stored document as read back: `state` a string and `window` an object, the rest unchecked. */
export interface StoredBreakerDocument {
  readonly v?: unknown;
  readonly state: string;
  readonly generation?: unknown;
  readonly consecutiveFailures?: unknown;
  readonly window: StoredWindow;
  readonly cfg?: unknown;
  readonly since?: unknown;
  readonly openUntil?: unknown;
  readonly attempts?: unknown;
  readonly halfOpenAvailable?: unknown;
  readonly notPermitted?: unknown;
  readonly exceededReported?: unknown;
  readonly leaseSeq?: unknown;
  readonly leases?: unknown;
}

/**
 * Reads a stored document for display: any version's (the key order does not matter), as long as
 * it is a JSON object with a state and a window; otherwise why not (the script resets such a key on
 * its next call).
 */
export function readBreakerDocument(
  raw: string,
): { readonly doc: StoredBreakerDocument } | { readonly problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return { problem: 'not JSON' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { problem: 'not a JSON object' };
  const d = doc as { state?: unknown; window?: unknown };
  if (typeof d.state !== 'string') return { problem: 'no state' };
  if (typeof d.window !== 'object' || d.window === null) return { problem: 'no window' };
  return { doc: doc as StoredBreakerDocument };
}

/** A finite number, or `fallback`. */
export function numberOr(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/**
 * A window's counts at `nowMs`. A TIME window is decayed as the script decays it on its next call
 * (the buckets of seconds that left the window drop out), without writing anything back.
 */
export function windowCountsAt(w: StoredWindow, nowMs: number): Counts {
  let calls = numberOr(w.calls);
  let failures = numberOr(w.failures);
  let slow = numberOr(w.slow);
  let slowFailures = numberOr(w.slowFailures);
  if (w.type === 'TIME') {
    const size = numberOr(w.size, 1);
    const last = numberOr(w.lastSecond);
    const elapsed = Math.floor(nowMs / 1000) - last;
    if (elapsed >= size) {
      calls = 0;
      failures = 0;
      slow = 0;
      slowFailures = 0;
    } else if (elapsed > 0) {
      const bucket = (list: unknown, i: number): number => (Array.isArray(list) ? numberOr(list[i]) : 0);
      for (let second = last + 1; second <= last + elapsed; second++) {
        const i = ((second % size) + size) % size;
        calls -= bucket(w.bucketCalls, i);
        failures -= bucket(w.bucketFailures, i);
        slow -= bucket(w.bucketSlow, i);
        slowFailures -= bucket(w.bucketSlowFailures, i);
      }
    }
  }
  return [calls, failures, slow, slowFailures, numberOr(w.minimumCalls)];
}
