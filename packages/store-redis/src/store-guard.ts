import type { EventPublisher } from '@breakwater/core/engine';
import type { RedisStoreSettings } from './redis-store-options.js';
import type { StoreUnavailableError } from './store-errors.js';
import type { FleetStoreFailureMessage, StoreEvent } from './store-events.js';

/** The guard's state, as `RedisStore.guardState()` reports it. */
export type GuardState = 'CLOSED' | 'OPEN';

/**
 * The store's health: a small breaker around Redis itself, and the outage events.
 *
 * - It opens after `failureThreshold` failures in a row, or that many within `waitDurationMs`
 *   (a Redis that fails and answers by turns, as under OOM where reads pass and writes fail, is
 *   not healthy). Failures are those that say something about Redis as a whole: timeouts, a lost
 *   connection, OOM...; never an error that belongs to one policy's request. While it is open,
 *   calls do not try Redis: the failure policy decides at once.
 * - It closes as soon as Redis answers: a late reply (Redis was stalled and answers again), or
 *   any call issued since it opened, such as the probe the runner sends every `waitDurationMs`
 *   while it is open (and at once when the connection comes back). A call issued before it opened
 *   and answered in time proves nothing (under OOM, reads pass while writes fail). Everything goes
 *   back to Redis together, not one request at a time.
 * - Its opening is the outage (STORE_FAILURE), its closing the recovery (STORE_RECOVERED): one
 *   pair per open period, however Redis flaps. A lone failure falls back for its own calls only.
 */
export class StoreGuard {
  private state: GuardState = 'CLOSED';
  /** performance.now() when it last opened. */
  private openedAt = 0;
  private consecutive = 0;
  /** Times of the latest failures, a ring of `failureThreshold`. */
  private readonly failures: number[] = [];
  private nextFailure = 0;
  private outage: { readonly at: number; readonly error: unknown } | undefined;
  /** Called once each, on the next success (engines with something to deliver to Redis). */
  private readonly recoveryWaiters = new Set<() => void>();

  constructor(
    private readonly settings: RedisStoreSettings,
    private readonly events: EventPublisher<StoreEvent>,
    private readonly hooks: {
      /** The guard opened: the runner starts probing. */
      opened(): void;
      /** An outage is over: tell the fleet (this process could not publish while Redis was away). */
      publish(message: FleetStoreFailureMessage): void;
    },
    private readonly clock: () => number = Date.now,
  ) {}

  get isOpen(): boolean {
    return this.state === 'OPEN';
  }

  get current(): GuardState {
    return this.state;
  }

  /**
   * Redis answered a call issued at `issuedAt` (performance.now()), `late` if after its caller gave
   * up. Cheap while nothing is wrong: one check.
   */
  succeeded(issuedAt: number, late: boolean): void {
    if (this.consecutive === 0 && this.state === 'CLOSED' && this.recoveryWaiters.size === 0) return;
    if (this.state === 'OPEN' && !late && issuedAt < this.openedAt) return;
    this.consecutive = 0;
    if (this.state === 'OPEN') {
      this.state = 'CLOSED';
      this.failures.length = 0;
      this.nextFailure = 0;
      this.endOutage(this.clock());
    }
    this.wakeRecoveryWaiters();
  }

  /**
   * Calls the recovery waiters now (they send what they hold; what fails waits again): on a
   * success, and when the connection becomes ready, which a store that has nothing else to send
   * would otherwise never learn.
   */
  wakeRecoveryWaiters(): void {
    if (this.recoveryWaiters.size === 0) return;
    const waiters = [...this.recoveryWaiters];
    this.recoveryWaiters.clear();
    for (const waiter of waiters) waiter();
  }

  /** A failure that says something about Redis as a whole. */
  failed(error: StoreUnavailableError): void {
    if (this.state === 'OPEN') return;
    const now = this.clock();
    const threshold = this.settings.guardFailureThreshold;
    this.consecutive++;
    const ring = this.failures;
    if (ring.length < threshold) {
      ring.push(now);
    } else {
      ring[this.nextFailure] = now;
      this.nextFailure = (this.nextFailure + 1) % threshold;
    }
    // ring[nextFailure] is the oldest of the last `threshold` failures once the ring is full.
    const oldest = ring.length === threshold ? ring[this.nextFailure] : undefined;
    const crowded = oldest !== undefined && now - oldest <= this.settings.guardWaitDurationMs;
    if (this.consecutive >= threshold || crowded) {
      this.state = 'OPEN';
      this.openedAt = performance.now();
      this.startOutage(now, error);
      this.hooks.opened();
    }
  }

  /** Calls `waiter` once, after the next reply from Redis. */
  onNextSuccess(waiter: () => void): void {
    this.recoveryWaiters.add(waiter);
  }

  private startOutage(at: number, error: unknown): void {
    this.outage = { at, error };
    this.events.emit({
      kind: 'store',
      type: 'STORE_FAILURE',
      name: this.settings.keyPrefix,
      at,
      error,
      policy: this.settings.onStoreFailure,
    });
  }

  private endOutage(at: number): void {
    const outage = this.outage;
    if (outage === undefined) return;
    this.outage = undefined;
    this.events.emit({ kind: 'store', type: 'STORE_RECOVERED', name: this.settings.keyPrefix, at });
    if (!this.settings.publishEvents) return;
    this.hooks.publish({
      kind: 'store',
      type: 'STORE_FAILURE',
      name: this.settings.keyPrefix,
      origin: this.settings.processId,
      at: outage.at,
      recoveredAt: at,
      error: outage.error instanceof Error ? outage.error.message : String(outage.error),
      policy: this.settings.onStoreFailure,
    });
  }
}
