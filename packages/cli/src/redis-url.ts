/** The Redis URL the CLI connects to, and how it is shown: never with its password. */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RedisTarget {
  /** The URL as given (it may hold a password: never print it). */
  readonly url: string;
  /** The URL with its password replaced by `***`: safe to print. */
  readonly shown: string;
  /** Strings to blank out of anything printed: the password, raw and decoded. */
  readonly secrets: readonly string[];
}

/** Parses `raw`; returns undefined when it is not a redis:// or rediss:// URL. */
export function redisTarget(raw: string): RedisTarget | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return undefined;
  const secrets = new Set<string>();
  if (url.password !== '') {
    secrets.add(url.password);
    try {
      secrets.add(decodeURIComponent(url.password));
    } catch {
      // a malformed escape: the raw form is blanked out already
    }
  }
  const shown = new URL(raw);
  if (shown.password !== '') shown.password = '***';
  return { url: raw, shown: shown.toString(), secrets: [...secrets].filter((s) => s.length > 0) };
}

/** `text` with every secret replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // longest first, so that a secret containing another is blanked out whole
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}
