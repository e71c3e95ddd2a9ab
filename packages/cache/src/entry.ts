/**
 * A cached value and its times, and how it is written in the shared tier.
 *
 * An entry is fresh until `freshUntil`, then stale (still served while the loader fails or is
 * slow) until `staleUntil`, then expired. The times are epoch milliseconds of the clock of the
 * process that loaded the value: every process reads the same entry the same way (a clock skew
 * between hosts shifts its life by that much).
 */
export interface Entry<T> {
  readonly value: T;
  readonly createdAt: number;
  /** Lowered (never raised) when the entry may be outdated: it is reloaded, but still a fallback. */
  freshUntil: number;
  readonly staleUntil: number;
}

export type EntryState = 'fresh' | 'stale' | 'expired';

export function entryState(entry: Entry<unknown>, now: number): EntryState {
  if (now < entry.freshUntil) return 'fresh';
  return now < entry.staleUntil ? 'stale' : 'expired';
}

/**
 * Whether a fresh entry is due for an early refresh: `ratio` of its fresh life has passed
 * (undefined: never).
 */
export function refreshDue(entry: Entry<unknown>, now: number, ratio: number | undefined): boolean {
  if (ratio === undefined) return false;
  return now >= entry.createdAt + (entry.freshUntil - entry.createdAt) * ratio;
}

/**
 * The shared tier's format: `bw1|<createdAt>|<freshUntil>|<staleUntil>|` then `v` and the
 * serialized value, or `u` alone for `undefined` (which no serializer has to know about, and which
 * stays distinct from `null`).
 */
const TAG = 'bw1|';

/** What a stored text says, before its value is deserialized. */
export interface StoredEntry {
  readonly createdAt: number;
  readonly freshUntil: number;
  readonly staleUntil: number;
  /** The serialized value; undefined for the value `undefined`. */
  readonly payload: string | undefined;
}

export function encodeEntry(entry: Entry<unknown>, payload: string | undefined): string {
  const head = `${TAG}${entry.createdAt}|${entry.freshUntil}|${entry.staleUntil}|`;
  return payload === undefined ? `${head}u` : `${head}v${payload}`;
}

/** Reads a stored text; a string says why it cannot be read (someone else wrote the key). */
export function decodeEntry(text: string): StoredEntry | string {
  if (!text.startsWith(TAG)) return 'not a cache entry';
  const a = text.indexOf('|', TAG.length);
  const b = a < 0 ? -1 : text.indexOf('|', a + 1);
  const c = b < 0 ? -1 : text.indexOf('|', b + 1);
  if (c < 0) return 'truncated header';
  const createdAt = Number(text.slice(TAG.length, a));
  const freshUntil = Number(text.slice(a + 1, b));
  const staleUntil = Number(text.slice(b + 1, c));
  if (
    !Number.isSafeInteger(createdAt) ||
    !Number.isSafeInteger(freshUntil) ||
    !Number.isSafeInteger(staleUntil) ||
    createdAt > freshUntil ||
    freshUntil > staleUntil
  ) {
    return 'bad times';
  }
  const flag = text.charCodeAt(c + 1);
  if (flag === 117 /* u */ && text.length === c + 2) {
    return { createdAt, freshUntil, staleUntil, payload: undefined };
  }
  if (flag !== 118 /* v */) return 'bad value flag';
  return { createdAt, freshUntil, staleUntil, payload: text.slice(c + 2) };
}
