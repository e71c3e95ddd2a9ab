/**
 * Where cached results live: opossum's `cacheTransport` contract. `set`'s third argument is, as
 * opossum passes it, the epoch millisecond at which the entry expires, or 0 for never (its
 * typings call it a TTL; a transport written for opossum reads it as opossum sends it).
 */
export interface CacheTransport {
  get(key: string): unknown | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the value is a promise of the action's result, typed `any` as in @types/opossum so that transports written against it still fit.
  set(key: string, value: any, ttl: number): void;
  flush(): void;
}

interface Entry {
  readonly value: unknown;
  /** Epoch ms; 0 never expires. */
  readonly expiresAt: number;
}

/** Largest number of entries a Map can hold (2^24 - 1): the default bound, as opossum's. */
const MAX_MAP_ENTRIES = 2 ** 24 - 1;

/**
 * The default transport: a Map bounded to `maxEntries`, the oldest entry going first when a new
 * key arrives at the bound. Expired entries are dropped when read.
 */
export class MemoryCache implements CacheTransport {
  private readonly entries = new Map<string, Entry>();
  readonly maxEntries: number;

  constructor(
    maxEntries?: number,
    private readonly now: () => number = Date.now,
  ) {
    this.maxEntries =
      maxEntries !== undefined && Number.isInteger(maxEntries) && maxEntries > 0
        ? Math.min(maxEntries, MAX_MAP_ENTRIES)
        : MAX_MAP_ENTRIES;
  }

  get(key: string): unknown | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== 0 && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: unknown, expiresAt: number): void {
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  flush(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
