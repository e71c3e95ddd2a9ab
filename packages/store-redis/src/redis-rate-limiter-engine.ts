import type { RateLimiterSettings } from '@breakwater/core';
import {
  createLocalRateLimiterEngine,
  createRateLimiterCell,
  type RateLimiterEngine,
} from '@breakwater/core/engine';
import { type BatchedOp, PerOpBatch } from './per-op-batch.js';
import { refusedFor } from './permit-codec.js';
import type { RedisRunner } from './redis-runner.js';
import type { RedisStoreSettings } from './redis-store-options.js';
import { ScriptBatcher } from './script-batcher.js';
import { rateLimiterKey } from './wire/keys.js';
import { argList, RATE_LIMITER_ARGS } from './wire/script-args.js';
import { RATE_LIMITER_SCRIPT } from './wire/scripts.js';

/** Reservations granted by the fallback engine that are remembered for `release` (oldest dropped first). */
const MAX_LOCAL_RESERVATIONS = 10_000;

type LocalEngine = ReturnType<typeof createLocalRateLimiterEngine>;

export interface RateLimiterHooks {
  /** The limiter's key held garbage; the script reset it. */
  stateReset(reason: string): void;
  /** Redis refused one of this limiter's requests with an error of its own (not about Redis as a whole). */
  policyFailure(error: unknown): void;
}

/**
 * A rate limiter whose state lives in Redis (`lua/rate-limiter.lua`): every process of the
 * fleet takes its permits from one state, so the limit holds fleet-wide. Operations issued in
 * the same tick share one script call. When Redis cannot answer, the store's failure policy
 * decides per operation: `'local'` runs the in-process engine (its state kept for the next
 * outage), `'allow'` grants, `'deny'` rejects with a short retry-after.
 */
export class RedisRateLimiterEngine implements RateLimiterEngine {
  private readonly batcher: ScriptBatcher<BatchedOp>;
  private local: LocalEngine | undefined;
  /**
   * Reservations the fallback engine granted (due time -> how many), so that giving one back
   * goes to the engine that holds it: the Redis state never gets back permits it did not hand out.
   */
  private readonly localReservations = new Map<number, number>();

  constructor(
    name: string,
    private readonly settings: RateLimiterSettings,
    runner: RedisRunner,
    private readonly store: RedisStoreSettings,
    private readonly hooks: RateLimiterHooks,
  ) {
    const callerClock = store.clock === 'caller';
    const policy = new PerOpBatch({
      head: argList(RATE_LIMITER_ARGS, {
        algorithm: settings.algorithm === 'gcra' ? 'G' : 'F',
        limit: settings.limitForPeriod,
        period: settings.limitRefreshPeriod,
        // Under the caller's clock, Redis's own expiry clock must not cut a state short.
        fixedTtl: callerClock ? store.keyTtlMs : '',
      }),
      // reason, and the instant the batch ran (what a late answer's grants are given back by)
      replyHead: 2,
      onReplyHead: (head) => {
        if (typeof head[0] === 'string' && head[0] !== '') this.hooks.stateReset(head[0]);
      },
      onPolicyFailure: (error) => this.hooks.policyFailure(error),
    });
    const key = rateLimiterKey(store.keyPrefix, name);
    this.batcher = new ScriptBatcher(runner, RATE_LIMITER_SCRIPT.name, key, callerClock, policy);
  }

  acquire(permits: number, now: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve) => {
      this.batcher.push({
        now,
        args: ['A', permits, timeoutMs],
        done: resolve,
        failed: () => resolve(this.fallbackAcquire(permits, now, timeoutMs)),
        late: (granted, head) => {
          // Granted to a caller the failure policy answered: nobody uses these permits.
          if (granted === undefined || granted < 0) return;
          // The script's clock: the batch's instant under the caller's, else Redis TIME (whole ms).
          const ran = this.store.clock === 'caller' ? now : Number(head?.[1]);
          if (Number.isFinite(ran)) void this.giveBack(permits, ran + granted, now);
        },
      });
    });
  }

  /**
   * Gives back `permits` Redis granted to a caller who gave up before the answer came (`late`):
   * `dueAt` is when they went or go, on the script's clock (the acquire's instant plus its wait),
   * so the script can tell whether they still count where they were taken, whenever it runs.
   * Best effort, like `release`: the late answer that calls for it has just closed the store's
   * guard, so it goes out at once; if Redis does not take it, it is lost (the limit stays charged).
   */
  giveBack(permits: number, dueAt: number, now: number): Promise<void> {
    return new Promise((resolve) => {
      this.batcher.push({ now, args: ['U', permits, dueAt], done: () => resolve(), failed: () => resolve() });
    });
  }

  release(permits: number, remainingMs: number, now: number): Promise<void> | undefined {
    if (!(remainingMs > 0)) return undefined;
    if (this.takeLocalReservation(now + remainingMs, now)) {
      this.local?.release(permits, remainingMs, now);
      return undefined;
    }
    return new Promise((resolve) => {
      this.batcher.push({
        now,
        args: ['L', permits, remainingMs],
        done: () => resolve(),
        // Best effort, as the contract allows: the reservation lapses in Redis.
        failed: () => resolve(),
      });
    });
  }

  drain(now: number): Promise<number> {
    return this.sendQuery(now, 'D', () =>
      this.store.onStoreFailure === 'local' ? this.fallbackEngine().drain(now) : 0,
    );
  }

  read(now: number): Promise<number> {
    return this.sendQuery(now, 'G', () => this.fallbackRead(now));
  }

  close(): void {
    this.local?.close();
  }

  /** An operation without arguments (drain, read) in the next batch; `fallback()` when Redis gave no answer. */
  private sendQuery(now: number, op: 'D' | 'G', fallback: () => number): Promise<number> {
    return new Promise((resolve) => {
      this.batcher.push({ now, args: [op, 0, 0], done: resolve, failed: () => resolve(fallback()) });
    });
  }

  private fallbackAcquire(permits: number, now: number, timeoutMs: number): number {
    switch (this.store.onStoreFailure) {
      case 'allow':
        return 0;
      case 'deny':
        // Retry once the guard breaker around Redis may let a probe through.
        return refusedFor(Math.min(this.settings.limitRefreshPeriod, this.store.guardWaitDurationMs));
      default: {
        const granted = this.fallbackEngine().acquire(permits, now, timeoutMs);
        if (granted > 0) this.rememberLocalReservation(now + granted, now);
        return granted;
      }
    }
  }

  private fallbackRead(now: number): number {
    switch (this.store.onStoreFailure) {
      case 'allow':
        return this.settings.limitForPeriod;
      case 'deny':
        return 0;
      default:
        return this.fallbackEngine().read(now);
    }
  }

  private rememberLocalReservation(due: number, now: number): void {
    const reservations = this.localReservations;
    this.pruneLocalReservations(now);
    if (reservations.size >= MAX_LOCAL_RESERVATIONS) {
      const oldest = reservations.keys().next();
      if (!oldest.done) reservations.delete(oldest.value);
    }
    reservations.set(due, (reservations.get(due) ?? 0) + 1);
  }

  /** True (and forgotten) when a reservation due at `due` came from the fallback engine. */
  private takeLocalReservation(due: number, now: number): boolean {
    const reservations = this.localReservations;
    if (reservations.size === 0) return false;
    this.pruneLocalReservations(now);
    const count = reservations.get(due);
    if (count === undefined) return false;
    if (count > 1) reservations.set(due, count - 1);
    else reservations.delete(due);
    return true;
  }

  /** Drops reservations already due (mostly in insertion order, so this stops early). */
  private pruneLocalReservations(now: number): void {
    for (const due of this.localReservations.keys()) {
      if (due > now) return;
      this.localReservations.delete(due);
    }
  }

  /** In-process state used while Redis is unavailable (and kept for the next outage). */
  private fallbackEngine(): LocalEngine {
    if (this.local === undefined) {
      const settings = this.settings;
      let cell: ReturnType<typeof createRateLimiterCell> | undefined;
      this.local = createLocalRateLimiterEngine(settings, (now) => {
        cell ??= createRateLimiterCell(settings, now);
        return cell;
      });
    }
    return this.local;
  }
}
