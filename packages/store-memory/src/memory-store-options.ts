import { ConfigReader } from '@breakwater/core/engine';

export interface MemoryStoreOptions {
  /**
   * A policy unused for this long (ms) is dropped, and starts afresh if used again. Kept: breakers
   * an operator pinned (FORCED_OPEN, DISABLED, METRICS_ONLY) or still waiting out an OPEN period,
   * rate limiters whose used permits have not come back yet, bulkheads with running calls. Idle
   * policies are swept when new names arrive (at most ten times per timeout) and by `sweep()`.
   * 0 keeps everything. Default 3,600,000 (one hour).
   */
  readonly idleTimeoutMs?: number;
  /**
   * At most this many policies (all kinds together) are kept; beyond it the least recently used
   * is dropped, those the idle timeout would keep last (a bulkhead with running calls never).
   * Default: unbounded.
   */
  readonly maxSize?: number;
}

export interface MemoryStoreSettings {
  readonly idleTimeoutMs: number;
  readonly maxSize: number;
}

export const MEMORY_STORE_DEFAULTS: MemoryStoreSettings = Object.freeze({
  idleTimeoutMs: 3_600_000,
  maxSize: Number.POSITIVE_INFINITY,
});

export function resolveMemoryStoreOptions(options: unknown): MemoryStoreSettings {
  const r = new ConfigReader('MemoryStore options', options, ['idleTimeoutMs', 'maxSize']);
  return Object.freeze({
    idleTimeoutMs: r.number('idleTimeoutMs', MEMORY_STORE_DEFAULTS.idleTimeoutMs, 0),
    maxSize: r.has('maxSize') ? r.integer('maxSize', 0, 1) : MEMORY_STORE_DEFAULTS.maxSize,
  });
}
