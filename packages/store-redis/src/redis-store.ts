import { hostname } from 'node:os';
import type {
  BulkheadSettings,
  BulkheadStore,
  CircuitBreakerSettings,
  RateLimiterSettings,
  RateLimiterStore,
  Store,
  Unsubscribe,
} from '@breakwater/core';
import {
  type BreakerEffectsListener,
  type BreakerEngine,
  type BulkheadEngine,
  EventPublisher,
  type RateLimiterEngine,
  type SlotFreedListener,
} from '@breakwater/core/engine';
import type { Cluster, Redis } from 'ioredis';
import { RedisBreakerEngine } from './redis-breaker-engine.js';
import { RedisBulkheadEngine } from './redis-bulkhead-engine.js';
import { RedisRateLimiterEngine } from './redis-rate-limiter-engine.js';
import { RedisRunner, type StoreOperation } from './redis-runner.js';
import {
  type RedisStoreOptions,
  type RedisStoreSettings,
  resolveRedisStoreOptions,
} from './redis-store-options.js';
import { SlotNotices } from './slot-notices.js';
import type { FleetStoreFailureMessage, FleetTransitionMessage, StoreEvent } from './store-events.js';
import { type ScriptTransition, transitionOf } from './wire/breaker-ops.js';
import { eventsChannel } from './wire/keys.js';
import { BREAKER_SCRIPT, BULKHEAD_SCRIPT, RATE_LIMITER_SCRIPT } from './wire/scripts.js';

/**
 * State in Redis: every process using the same Redis (and key prefix) shares one state per
 * policy name. Decisions run as Lua scripts, one atomic call per batch of operations, with
 * Redis `TIME` as the clock. Swapping a MemoryStore for a RedisStore is a one-line change.
 */
export class RedisStore implements Store, RateLimiterStore, BulkheadStore {
  readonly kind = 'redis';
  readonly options: RedisStoreSettings;
  private readonly runner: RedisRunner;
  private readonly events = new EventPublisher<StoreEvent>();
  private readonly fleet = new EventPublisher<
    | { type: 'FLEET'; message: FleetTransitionMessage }
    | { type: 'FLEET_STORE'; message: FleetStoreFailureMessage }
  >();
  private subscriber: Redis | Cluster | undefined;
  private readonly client: Redis | Cluster;
  private readonly slotNotices: SlotNotices;

  constructor(options: RedisStoreOptions) {
    this.options = resolveRedisStoreOptions(options, `${hostname()}:${process.pid}`);
    this.client = options.client;
    this.runner = new RedisRunner(
      options.client,
      this.options,
      [BREAKER_SCRIPT, RATE_LIMITER_SCRIPT, BULKHEAD_SCRIPT],
      this.events,
    );
    this.slotNotices = new SlotNotices(options.client);
  }

  circuitBreaker(
    name: string,
    settings: CircuitBreakerSettings,
    listener: BreakerEffectsListener,
  ): BreakerEngine {
    return new RedisBreakerEngine(name, settings, listener, this.runner, this.options, {
      stateReset: (policy, reason) => this.stateReset(policy, reason),
      policyFailure: (policy, error) => this.policyFailure(policy, error),
      outcomesDropped: (policy, count, reason) =>
        this.events.emit({
          kind: 'store',
          type: 'OUTCOMES_DROPPED',
          name: this.options.keyPrefix,
          at: Date.now(),
          policy,
          count,
          reason,
        }),
    });
  }

  /** A rate limiter whose permits the whole fleet shares (`<prefix>:{rl:<name>}:state`). */
  rateLimiter(name: string, settings: RateLimiterSettings): RateLimiterEngine {
    const policy = `rateLimiter:${name}`;
    return new RedisRateLimiterEngine(name, settings, this.runner, this.options, {
      stateReset: (reason) => this.stateReset(policy, reason),
      policyFailure: (error) => this.policyFailure(policy, error),
    });
  }

  /** A bulkhead whose slots the whole fleet shares (leases in `<prefix>:{bh:<name>}:leases`). */
  bulkhead(name: string, settings: BulkheadSettings, onSlotFreed: SlotFreedListener): BulkheadEngine {
    const policy = `bulkhead:${name}`;
    return new RedisBulkheadEngine(name, settings, onSlotFreed, this.runner, this.options, this.slotNotices, {
      stateReset: (reason) => this.stateReset(policy, reason),
      policyFailure: (error) => this.policyFailure(policy, error),
    });
  }

  private stateReset(policy: string, reason: string): void {
    this.events.emit({
      kind: 'store',
      type: 'STATE_RESET',
      name: this.options.keyPrefix,
      at: Date.now(),
      policy,
      reason,
    });
  }

  private policyFailure(policy: string, error: unknown): void {
    this.events.emit({
      kind: 'store',
      type: 'POLICY_FAILURE',
      name: this.options.keyPrefix,
      at: Date.now(),
      policy,
      error,
    });
  }

  /** The store's own events: STORE_FAILURE, STORE_RECOVERED, STATE_RESET, POLICY_FAILURE, OUTCOMES_DROPPED. */
  onEvent(listener: (event: StoreEvent) => void): Unsubscribe {
    return this.events.onEvent(listener);
  }

  /** Every round trip to Redis (script, duration, success): for latency metrics. Free while nobody listens. */
  onOperation(listener: (operation: StoreOperation) => void): Unsubscribe {
    return this.runner.operations.onEvent(listener);
  }

  /** The guard's state: `'CLOSED'` while calls go to Redis, `'OPEN'` while they fall back without trying. */
  guardState(): Promise<string> {
    return Promise.resolve(this.runner.guardState);
  }

  /**
   * Transitions published by every process sharing this Redis (pub/sub on `<keyPrefix>:events`).
   * The subscription is opened on first use and closed when the last listener leaves.
   */
  onFleetTransition(listener: (message: FleetTransitionMessage) => void): Unsubscribe {
    return this.followFleet(this.fleet.on('FLEET', (e) => listener(e.message)));
  }

  /**
   * Outages of every process sharing this Redis, each published by its process once Redis
   * answered it again (this process's own included; its `origin` is `options.processId`).
   */
  onFleetStoreFailure(listener: (message: FleetStoreFailureMessage) => void): Unsubscribe {
    return this.followFleet(this.fleet.on('FLEET_STORE', (e) => listener(e.message)));
  }

  private followFleet(off: Unsubscribe): Unsubscribe {
    this.ensureSubscribed();
    return () => {
      off();
      if (!this.fleet.hasListeners) this.unsubscribe();
    };
  }

  private ensureSubscribed(): void {
    if (this.subscriber !== undefined) return;
    const channel = eventsChannel(this.options.keyPrefix);
    const sub = this.client.duplicate();
    sub.on('error', () => {});
    sub.on('message', (ch: string, payload: string) => {
      if (ch !== channel) return;
      let raw: { kind?: unknown; type?: unknown };
      try {
        raw = JSON.parse(payload);
        if (raw.kind === 'store') {
          if (raw.type === 'STORE_FAILURE') {
            this.fleet.emit({ type: 'FLEET_STORE', message: raw as unknown as FleetStoreFailureMessage });
          }
          return;
        }
        this.fleet.emit({ type: 'FLEET', message: fleetMessage(raw as Parameters<typeof fleetMessage>[0]) });
      } catch {
        // Anyone can publish on the channel: what is not ours is skipped.
      }
    });
    sub.subscribe(channel).catch(() => {});
    this.subscriber = sub;
  }

  private unsubscribe(): void {
    const sub = this.subscriber;
    this.subscriber = undefined;
    sub?.disconnect();
  }

  /** Releases the store's own connections and subscriptions; the client you passed stays open. */
  async close(): Promise<void> {
    this.unsubscribe();
    this.slotNotices.close();
    await this.runner.close();
  }
}

/** The script publishes counts; listeners get rates, computed as the in-process engine does. */
function fleetMessage(raw: { name: string; origin: string; transitions: unknown }): FleetTransitionMessage {
  const list = Array.isArray(raw.transitions) ? (raw.transitions as ScriptTransition[]) : [];
  return {
    kind: 'circuitbreaker',
    name: String(raw.name),
    origin: String(raw.origin),
    transitions: list.map(transitionOf),
  };
}
