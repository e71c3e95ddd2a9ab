import { randomBytes } from 'node:crypto';
import type { BulkheadSettings, Unsubscribe } from '@breakwater/core';
import {
  BULKHEAD_FULL,
  type BulkheadEngine,
  createBulkheadCell,
  LocalBulkheadEngine,
  type SlotFreedListener,
} from '@breakwater/core/engine';
import { type BatchedOp, PerOpBatch } from './per-op-batch.js';
import { ALLOW_PERMIT, LOCAL_LEASE, leaseMember, nextLease } from './permit-codec.js';
import type { RedisRunner } from './redis-runner.js';
import type { RedisStoreSettings } from './redis-store-options.js';
import { ScriptBatcher } from './script-batcher.js';
import type { SlotNotices } from './slot-notices.js';
import { bulkheadKeys } from './wire/keys.js';
import { argList, BULKHEAD_ARGS } from './wire/script-args.js';
import { BULKHEAD_SCRIPT } from './wire/scripts.js';

/** The script's `retryMs` when no acquire of the batch was refused. */
const NO_RETRY_HINT = -1;
/** Longest wait between retries of a refused acquire (pub/sub notices can be lost). */
const MAX_RETRY_DELAY_MS = 1_000;
/** Releases Redis did not take, retried with the next call (they lapse with their lease anyway). */
const MAX_PENDING_RELEASES = 10_000;

export interface BulkheadHooks {
  /** The bulkhead's key held garbage; the script reset it. */
  stateReset(reason: string): void;
  /** Redis refused one of this bulkhead's requests with an error of its own (not about Redis as a whole). */
  policyFailure(error: unknown): void;
}

/**
 * A bulkhead whose slots live in Redis (`lua/bulkhead.lua`): a slot is a lease in a sorted set
 * scored by its expiry, so a process that dies loses its slots after `bulkheadLeaseMs`. Leases of
 * running calls are renewed every third of the lease, all of an engine's in one script call.
 *
 * Waiting: a refused acquire marks the bulkhead as contended; the next release anywhere then
 * publishes a notice, which this engine (subscribed once it has been refused) turns into a call
 * of the bulkhead's `SlotFreedListener`. As pub/sub can lose a notice, a refusal also arms a retry
 * at the earliest lease expiry (at most a second away). Each process serves its own waiters
 * first-come first-served; across processes there is no queue: whichever retries first wins.
 *
 * When Redis cannot answer, the store's failure policy decides per operation: `'local'` uses
 * in-process slots, `'allow'` grants, `'deny'` answers full (and retries after the guard's wait).
 */
export class RedisBulkheadEngine implements BulkheadEngine {
  private readonly batcher: ScriptBatcher<BatchedOp>;
  private readonly channel: string;
  /** Prefix of this engine's lease members: unique per engine, short to keep the set small. */
  private readonly memberPrefix = `${randomBytes(6).toString('base64url')}:`;
  private sequence = 0;
  /** Leases this engine holds in Redis, renewed while they run. */
  private readonly held = new Set<number>();
  /** Members whose release (or refused-by-timeout acquire) Redis has not confirmed. */
  private readonly pendingReleases = new Set<string>();
  private local: LocalBulkheadEngine | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryAt = 0;
  private maintenanceTimer: ReturnType<typeof setInterval> | undefined;
  private releaseTimer: ReturnType<typeof setTimeout> | undefined;
  /** The latest caller clock reading, for the maintenance calls under `clock: 'caller'`. */
  private lastNow = 0;
  private closed = false;
  /** `retryMs` of the reply being handled (set before its operations settle). */
  private replyRetryMs = NO_RETRY_HINT;
  /** 'A' marks a refusal so that releases publish a notice; 'T' (nobody ever waits here) does not. */
  private readonly acquireOp: 'A' | 'T';
  private readonly unregisterClose: () => void;

  constructor(
    name: string,
    private readonly settings: BulkheadSettings,
    private readonly listener: SlotFreedListener,
    runner: RedisRunner,
    private readonly store: RedisStoreSettings,
    private readonly notices: SlotNotices,
    private readonly hooks: BulkheadHooks,
  ) {
    const callerClock = store.clock === 'caller';
    const keys = bulkheadKeys(store.keyPrefix, name);
    this.channel = keys.channel;
    const policy = new PerOpBatch({
      head: argList(BULKHEAD_ARGS, {
        max: settings.maxConcurrentCalls,
        leaseMs: store.bulkheadLeaseMs,
        channel: keys.channel,
        // Under the caller's clock, Redis's own expiry clock must not cut the set short.
        fixedTtl: callerClock ? Math.max(store.keyTtlMs, store.bulkheadLeaseMs) : '',
      }),
      replyHead: 2,
      onReplyHead: (head) => {
        if (typeof head[0] === 'string' && head[0] !== '') this.hooks.stateReset(head[0]);
        this.replyRetryMs = Number(head[1]);
      },
      onPolicyFailure: (error) => this.hooks.policyFailure(error),
    });
    this.batcher = new ScriptBatcher(runner, BULKHEAD_SCRIPT.name, keys.leases, callerClock, policy);
    this.acquireOp = settings.maxWaitDuration > 0 ? 'A' : 'T';
    // The store closes: slots nobody uses go back now rather than when their lease runs out.
    this.unregisterClose = runner.onClose({
      flush: () => this.flushPendingReleases(this.nowForMaintenance()),
      closed: () => {},
    });
  }

  tryAcquire(now: number): Promise<number> {
    this.lastNow = now;
    this.sequence = nextLease(this.sequence);
    const token = this.sequence;
    const member = leaseMember(this.memberPrefix, token);
    this.flushPendingReleases(now);
    return new Promise((resolve) => {
      this.batcher.push({
        now,
        args: [this.acquireOp, member],
        done: (granted) => {
          if (granted === 1) {
            this.hold(token);
            resolve(token);
            return;
          }
          if (this.acquireOp === 'A') this.refused(this.replyRetryMs);
          resolve(BULKHEAD_FULL);
        },
        failed: (fate) => {
          // Granted after all, perhaps: a slot nobody uses must go back. A timed-out acquire
          // waits for its late answer; one whose fate is unknown is released with the next call.
          if (fate === 'unknown' || fate === 'applied') this.addPendingRelease(member);
          resolve(this.fallbackAcquire(now));
        },
        late: (granted) => {
          if (granted === 0) return;
          // Granted to a caller who gave up (or unknown): give it back at once.
          if (granted === 1) this.releaseNow(member, this.lastNow);
          else this.addPendingRelease(member);
        },
      });
    });
  }

  release(lease: number, now: number): Promise<void> | undefined {
    if (lease === ALLOW_PERMIT) return undefined;
    if (lease === LOCAL_LEASE) {
      this.local?.release(lease, now);
      return undefined;
    }
    this.lastNow = now;
    this.held.delete(lease);
    if (this.held.size === 0) this.stopMaintenance();
    const member = leaseMember(this.memberPrefix, lease);
    this.flushPendingReleases(now);
    return new Promise((resolve) => {
      this.batcher.push({
        now,
        args: ['L', member],
        done: () => resolve(),
        failed: (fate) => {
          if (fate !== 'pending') this.addPendingRelease(member);
          resolve();
        },
        late: (released) => {
          if (released === undefined) this.addPendingRelease(member);
        },
      });
    });
  }

  read(now: number): Promise<number> {
    this.lastNow = now;
    this.flushPendingReleases(now);
    return new Promise((resolve) => {
      this.batcher.push({
        now,
        args: ['G', 0],
        done: resolve,
        failed: () => resolve(this.fallbackRead(now)),
      });
    });
  }

  private nowForMaintenance(): number {
    return this.store.clock === 'caller' ? this.lastNow : Date.now();
  }

  close(): void {
    this.closed = true;
    this.unregisterClose();
    this.flushPendingReleases(this.nowForMaintenance());
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // Pending releases still go out with later calls; their timer must not outlive the engine.
    if (this.releaseTimer !== undefined) clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    this.stopMaintenance();
    this.local?.close();
  }

  // ------------------------------------------------------------------ waiting

  /** A refusal: listen for notices, and retry by the earliest lease expiry in any case. */
  private refused(retryMs: number): void {
    if (this.closed) return;
    this.unsubscribe ??= this.notices.subscribe(this.channel, this.listener);
    this.scheduleRetry(retryMs > 0 ? retryMs : MAX_RETRY_DELAY_MS);
  }

  private scheduleRetry(delayMs: number): void {
    const delay = Math.max(1, Math.min(delayMs, MAX_RETRY_DELAY_MS));
    const at = Date.now() + delay;
    if (this.retryTimer !== undefined) {
      if (this.retryAt <= at) return;
      clearTimeout(this.retryTimer);
    }
    this.retryAt = at;
    this.retryTimer = setTimeout(this.retry, delay);
    this.retryTimer.unref?.();
  }

  private readonly retry = (): void => {
    this.retryTimer = undefined;
    if (!this.closed) this.listener();
  };

  // ------------------------------------------------------------------ leases

  private hold(token: number): void {
    this.held.add(token);
    if (this.maintenanceTimer === undefined && !this.closed) {
      this.maintenanceTimer = setInterval(
        this.renew,
        Math.max(1, Math.floor(this.store.bulkheadLeaseMs / 3)),
      );
      this.maintenanceTimer.unref?.();
    }
  }

  private stopMaintenance(): void {
    if (this.maintenanceTimer === undefined) return;
    clearInterval(this.maintenanceTimer);
    this.maintenanceTimer = undefined;
  }

  /** Renews every lease this engine holds (one script call), and retries unconfirmed releases. */
  private readonly renew = (): void => {
    const now = this.nowForMaintenance();
    this.flushPendingReleases(now);
    if (this.held.size === 0) this.stopMaintenance();
    for (const token of this.held) {
      const member = leaseMember(this.memberPrefix, token);
      this.batcher.push({
        now,
        args: ['N', member],
        done: (renewed) => {
          // 0: reclaimed while this process did not renew it in time (it was paused longer
          // than the lease); the call keeps running without a slot, as nobody can tell it to stop.
          if (renewed === 0) this.held.delete(token);
        },
        failed: () => {
          // Redis is away: the next renewal tries again (a lease outlives two missed renewals).
        },
      });
    }
  };

  /**
   * Remembers a lease Redis may still hold although nobody here uses it (its release failed, or
   * its acquire timed out and may have run after all): it goes out with the next call, or on its
   * own once the guard breaker may let calls through again.
   */
  private addPendingRelease(member: string): void {
    if (this.pendingReleases.size >= MAX_PENDING_RELEASES) return;
    this.pendingReleases.add(member);
    if (this.releaseTimer === undefined && !this.closed) {
      this.releaseTimer = setTimeout(() => {
        this.releaseTimer = undefined;
        this.flushPendingReleases(this.nowForMaintenance());
      }, this.store.guardWaitDurationMs);
      this.releaseTimer.unref?.();
    }
  }

  private flushPendingReleases(now: number): void {
    if (this.pendingReleases.size === 0) return;
    const members = [...this.pendingReleases];
    this.pendingReleases.clear();
    for (const member of members) this.releaseNow(member, now);
  }

  /** Sends a release for a lease nobody uses; kept for later while Redis does not take it. */
  private releaseNow(member: string, now: number): void {
    this.batcher.push({
      now,
      args: ['L', member],
      done: () => {},
      failed: (fate) => {
        if (fate !== 'pending') this.addPendingRelease(member);
      },
      late: (released) => {
        if (released === undefined) this.addPendingRelease(member);
      },
    });
  }

  // ------------------------------------------------------------------ failure policy

  private fallbackAcquire(now: number): number {
    switch (this.store.onStoreFailure) {
      case 'allow':
        return ALLOW_PERMIT;
      case 'deny':
        // Waiters retry once the guard breaker around Redis may let a probe through.
        if (!this.closed && this.acquireOp === 'A') this.scheduleRetry(this.store.guardWaitDurationMs);
        return BULKHEAD_FULL;
      default:
        return this.fallbackEngine().tryAcquire(now);
    }
  }

  private fallbackRead(now: number): number {
    switch (this.store.onStoreFailure) {
      case 'allow':
        return 0;
      case 'deny':
        return this.settings.maxConcurrentCalls;
      default:
        return this.fallbackEngine().read(now);
    }
  }

  /** In-process slots used while Redis is unavailable (and kept for the next outage). */
  private fallbackEngine(): LocalBulkheadEngine {
    if (this.local === undefined) {
      let cell: ReturnType<typeof createBulkheadCell> | undefined;
      this.local = new LocalBulkheadEngine(this.settings, this.listener, (now) => {
        cell ??= createBulkheadCell(now);
        return cell;
      });
    }
    return this.local;
  }
}
