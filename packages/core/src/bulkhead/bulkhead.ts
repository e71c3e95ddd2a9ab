import type { Clock } from '../common/clock.js';
import { BulkheadFullError } from '../common/errors.js';
import { PolicyBase } from '../common/policy-base.js';
import { NEVER_ABORTED } from '../common/signal.js';
import { storeOption } from '../common/store-option.js';
import { isPromiseLike, type MaybePromise, type Supplier } from '../common/types.js';
import { type BulkheadConfig, type BulkheadSettings, resolveBulkheadConfig } from './bulkhead-config.js';
import type { BulkheadEvent } from './bulkhead-events.js';
import type { BulkheadEngine, BulkheadStore } from './bulkhead-store.js';
import { createBulkheadCell, LocalBulkheadEngine } from './local-bulkhead-engine.js';
import { WaitQueue, type WaitQueueNode } from './wait-queue.js';

export interface BulkheadOptions {
  /**
   * Where the slots live: a store that holds bulkheads (a ConfigError for one that does not).
   * Default: in-process, private to this bulkhead.
   */
  readonly store?: BulkheadStore;
  /** Time source (epoch ms). Default: the system clock. */
  readonly clock?: Clock;
}

export interface BulkheadMetrics {
  /** Slots free now (across everyone sharing the store). */
  readonly availableConcurrentCalls: number;
  readonly maxAllowedConcurrentCalls: number;
  /** Callers of this instance waiting for a slot. */
  readonly queueDepth: number;
}

interface Waiter extends WaitQueueNode {
  readonly resolve: (lease: number) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const noop = () => {};

/**
 * A semaphore bulkhead with Resilience4j's semantics: at most `maxConcurrentCalls` calls run at
 * once; a caller that finds it full waits up to `maxWaitDuration` in a FIFO queue (leaving it
 * when it aborts or times out), else gets `BulkheadFullError`. A finished call hands its slot
 * straight to the oldest waiter, so newcomers cannot jump the queue.
 */
export class Bulkhead extends PolicyBase<BulkheadEvent, BulkheadMetrics> {
  readonly kind = 'bulkhead' as const;
  /** The validated configuration with every default filled in. */
  readonly config: BulkheadSettings;
  private readonly engine: BulkheadEngine;
  private readonly queue = new WaitQueue<Waiter>();
  /** A remote tryAcquire for the queue is in flight. */
  private pumping = false;
  /**
   * The latest clock reading, passed to `release`: the engine only needs a recent time there
   * (in-process: idle tracking of a cell that cannot expire while in use), and a clock read can
   * cost more than the rest of the hot path (Date.now() ~100 ns on some VMs; bench `chain`, case
   * `ours`).
   */
  private recentNow = 0;

  static of(name: string, config?: BulkheadConfig, options?: BulkheadOptions): Bulkhead {
    return new Bulkhead(name, config, options);
  }

  static ofDefaults(name: string): Bulkhead {
    return new Bulkhead(name);
  }

  constructor(name: string, config?: BulkheadConfig, options: BulkheadOptions = {}) {
    super('bulkhead', name, options.clock);
    this.config = resolveBulkheadConfig(config, name);
    const store = storeOption<BulkheadStore>(options.store, 'bulkhead', this.kind, name);
    const settings = this.config;
    this.engine =
      store !== undefined
        ? store.bulkhead(this.name, settings, this.onSlotFreed)
        : new LocalBulkheadEngine(settings, this.onSlotFreed, createBulkheadCell);
  }

  // ------------------------------------------------------------------ protected calls

  /**
   * Runs `fn` in a slot, waiting for one if allowed; the slot is given back however `fn` ends.
   * Rejects with `BulkheadFullError` when no slot came free in time, or with the reason of
   * `signal` when it aborts while waiting. `fn` receives `signal` to abort its own work.
   */
  execute<T>(fn: Supplier<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.queue.size === 0) {
      const now = this.clock.now();
      this.recentNow = now;
      const lease = this.engine.tryAcquire(now);
      if (lease === 0) return this.run(fn, 0, signal);
      return this.afterAcquire(lease, signal).then((l) => this.run(fn, l, signal));
    }
    // Others are waiting already: newcomers queue behind them.
    return this.waitOrReject(signal).then((l) => this.run(fn, l, signal));
  }

  async getMetrics(): Promise<BulkheadMetrics> {
    const inUse = await this.engine.read(this.clock.now());
    const max = this.config.maxConcurrentCalls;
    return {
      availableConcurrentCalls: Math.max(0, max - inUse),
      maxAllowedConcurrentCalls: max,
      queueDepth: this.queue.size,
    };
  }

  // ------------------------------------------------------------------ lifecycle

  /** Detaches from the store; the bulkhead must not be used afterwards. */
  close(): void {
    this.engine.close();
  }

  // ------------------------------------------------------------------ running

  private run<T>(fn: Supplier<T>, lease: number, signal: AbortSignal | undefined): Promise<T> {
    if (this.publisher.hasListeners) {
      this.publisher.emit({
        kind: 'bulkhead',
        type: 'CALL_PERMITTED',
        name: this.name,
        at: this.clock.now(),
      });
    }
    let result: T | PromiseLike<T>;
    try {
      result = fn(signal ?? NEVER_ABORTED);
    } catch (error) {
      this.finish(lease);
      return Promise.reject(error);
    }
    if (!isPromiseLike(result)) {
      this.finish(lease);
      return Promise.resolve(result);
    }
    if (lease === 0) return Promise.resolve(result).then(this.finishValue, this.finishError) as Promise<T>;
    return Promise.resolve(result).then(
      (value) => {
        this.finish(lease);
        return value;
      },
      (error: unknown) => {
        this.finish(lease);
        throw error;
      },
    );
  }

  // Preallocated settle handlers for the in-process lease (always 0): no closures per call (bench
  // `chain`, case `ours`).
  private readonly finishValue = (value: unknown): unknown => {
    this.finish(0);
    return value;
  };
  private readonly finishError = (error: unknown): never => {
    this.finish(0);
    throw error;
  };

  /** The call is over: its slot goes to the oldest waiter, or back to the store. */
  private finish(lease: number): void {
    if (this.publisher.hasListeners) {
      this.publisher.emit({ kind: 'bulkhead', type: 'CALL_FINISHED', name: this.name, at: this.clock.now() });
    }
    this.giveBack(lease);
  }

  /** A slot nobody here uses any more: to the oldest waiter, or back to the store. */
  private giveBack(lease: number): void {
    if (this.grant(lease)) return;
    const pending = this.engine.release(lease, this.recentNow);
    if (pending !== undefined) pending.then(undefined, noop);
  }

  // ------------------------------------------------------------------ waiting

  private afterAcquire(lease: MaybePromise<number>, signal: AbortSignal | undefined): Promise<number> {
    if (typeof lease === 'number') return lease >= 0 ? Promise.resolve(lease) : this.waitOrReject(signal);
    return Promise.resolve(lease).then((l) => {
      if (l < 0) return this.waitOrReject(signal);
      if (this.queue.size === 0) return l;
      // Callers queued while the store answered: the slot is theirs, this caller goes behind them.
      this.grant(l);
      return this.waitOrReject(signal);
    });
  }

  private waitOrReject(signal: AbortSignal | undefined): Promise<number> {
    const c = this.config;
    if (c.maxWaitDuration <= 0 || this.queue.size >= c.maxQueueSize) {
      return Promise.reject(this.rejected('FULL'));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<number>((resolve, reject) => {
      const s = signal ?? NEVER_ABORTED;
      const waiter: Waiter = {
        prev: undefined,
        next: undefined,
        queued: false,
        resolve,
        signal: s,
        onAbort: () => {
          if (!this.leave(waiter)) return;
          reject(this.rejected('ABORTED', s.reason));
        },
        timer: undefined,
      };
      // Not unref'd: a queued caller awaits its slot, so the wait keeps the process alive (a
      // holder that hung must still end in BulkheadFullError); grant() and leave() clear it.
      waiter.timer = setTimeout(() => {
        waiter.timer = undefined;
        if (!this.leave(waiter)) return;
        reject(this.rejected('TIMEOUT'));
      }, c.maxWaitDuration);
      s.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** Takes `waiter` out of the queue and stops its timer and abort listener; false if it had left already. */
  private leave(waiter: Waiter): boolean {
    if (!this.queue.remove(waiter)) return false;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    return true;
  }

  /** Hands `lease` to the oldest waiter; false when nobody waits. */
  private grant(lease: number): boolean {
    const waiter = this.queue.shift();
    if (waiter === undefined) return false;
    // shift() already unlinked it; undo the rest of leave().
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(lease);
    return true;
  }

  /** The engine says a slot may be free: take slots for queued callers while there are some. */
  private readonly onSlotFreed = (): void => {
    if (this.pumping) return;
    while (this.queue.size > 0) {
      const now = this.clock.now();
      this.recentNow = now;
      const lease = this.engine.tryAcquire(now);
      if (typeof lease !== 'number') {
        this.pumping = true;
        lease.then(
          (l) => {
            this.pumping = false;
            if (l < 0) return;
            this.giveBack(l);
            this.onSlotFreed();
          },
          () => {
            // The store failed: queued callers keep waiting for another notice or their timeout.
            this.pumping = false;
          },
        );
        return;
      }
      if (lease < 0) return;
      this.grant(lease);
    }
  };

  private rejected(reason: 'FULL' | 'TIMEOUT' | 'ABORTED', abortReason?: unknown): unknown {
    if (this.publisher.hasListeners) {
      this.publisher.emit({
        kind: 'bulkhead',
        type: 'CALL_REJECTED',
        name: this.name,
        at: this.clock.now(),
        reason,
      });
    }
    return reason === 'ABORTED' ? abortReason : new BulkheadFullError(this.name);
  }
}
