import type { BreakerState, RateLimiterState } from '@breakwater/core/engine';

/** A point-in-time copy of a MemoryStore's state, plain JSON: write it to disk, restore it after a restart. */
export interface MemoryStoreSnapshot {
  readonly format: 'breakwater-memory-store';
  readonly version: 1;
  /** Epoch ms. */
  readonly takenAt: number;
  readonly circuitBreakers: Readonly<Record<string, BreakerState>>;
  /** Absent in snapshots that hold no rate limiters. */
  readonly rateLimiters?: Readonly<Record<string, RateLimiterState>>;
}

export interface RestoreReport {
  /** Names whose state was applied (or will be, when first used); rate limiters as `rateLimiter:<name>`. */
  readonly restored: readonly string[];
  /** Names whose state was rejected, with the reason; those start afresh. */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}
