/**
 * The in-process tier's bound: a Map in recency order (a Map iterates in insertion order, so
 * moving a key to the end on every read keeps the least recently used first). Values are handed
 * out as they are stored, by reference.
 */
export class Lru<V> {
  private readonly map = new Map<string, V>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The value, now the most recently used. */
  get(key: string): V | undefined {
    const map = this.map;
    const value = map.get(key);
    if (value !== undefined) {
      map.delete(key);
      map.set(key, value);
    }
    return value;
  }

  /** The value, without touching its recency. */
  peek(key: string): V | undefined {
    return this.map.get(key);
  }

  /** Stores `value` as the most recently used, evicting the least recently used beyond the bound. */
  set(key: string, value: V): void {
    const map = this.map;
    map.delete(key);
    map.set(key, value);
    if (map.size > this.maxEntries) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
  }

  delete(key: string): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Keys from least to most recently used. */
  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}
