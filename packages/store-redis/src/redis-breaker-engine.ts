import type {
  CircuitBreakerMetrics,
  CircuitBreakerSettings,
  CircuitBreakerStateName,
  TransitionReason,
} from '@breakwater/core';
import {
  type BreakerEffectsListener,
  type BreakerEngine,
  type BreakerState,
  type BreakerView,
  CLOSED_PERIOD_PERMIT,
  CURRENT_PERMIT,
  createBreakerCell,
  createEffects,
  DENIED_OPEN,
  initialBreakerState,
  LocalBreakerEngine,
  MAX_OPEN_ATTEMPT,
  type ManualTarget,
  type Outcome,
  type StepEffects,
  type TripReason,
  transitionIn,
} from '@breakwater/core/engine';
import {
  ALLOW_PERMIT,
  epochOf,
  fallbackPermitOf,
  generationOf,
  isSharedPermit,
  leaseOf,
  localPermit,
  permitOfReply,
  sharedPermit,
} from './permit-codec.js';
import type { RedisRunner, ScriptReply } from './redis-runner.js';
import type { RedisStoreSettings } from './redis-store-options.js';
import { ScriptBatcher } from './script-batcher.js';
import { type CallFate, isStoreWide, type StoreUnavailableError } from './store-errors.js';
import type { StoreOutcomesDroppedEvent } from './store-events.js';
import { type BreakerConfigValues, packBreakerConfig } from './wire/breaker-config.js';
import { type Counts, rateOf } from './wire/breaker-document.js';
import {
  type BreakerOp,
  type BreakerReply,
  exceededOf,
  packOps,
  parseBreakerReply,
  transitionOf,
} from './wire/breaker-ops.js';
import { breakerKey, eventsChannel } from './wire/keys.js';
import { BREAKER_SCRIPT } from './wire/scripts.js';

/** One operation of a batch: a caller's, or one the engine sends itself (`resolve` then does nothing). */
interface Op extends BreakerOp {
  readonly now: number;
  resolve(value: unknown): void;
}

/** Why outcomes a caller observed never reached the shared window (see `StoreOutcomesDroppedEvent`). */
export type DropReason = StoreOutcomesDroppedEvent['reason'];

export interface StoreHooks {
  /** A policy's key held garbage; the script reset it. */
  stateReset(policy: string, reason: string): void;
  /** Redis refused one of this policy's requests with an error of its own (not about Redis as a whole). */
  policyFailure(policy: string, error: unknown): void;
  /** Outcomes that will never reach the shared window. */
  outcomesDropped(policy: string, count: number, reason: DropReason): void;
}

function metricsFrom(c: Counts, notPermitted: number): CircuitBreakerMetrics {
  return {
    failureRate: rateOf(c[1], c),
    slowCallRate: rateOf(c[2], c),
    numberOfBufferedCalls: c[0],
    numberOfFailedCalls: c[1],
    numberOfSlowCalls: c[2],
    numberOfSlowSuccessfulCalls: c[2] - c[3],
    numberOfSlowFailedCalls: c[3],
    numberOfSuccessfulCalls: c[0] - c[1],
    numberOfNotPermittedCalls: notPermitted,
  };
}

const TRIP_REASONS: ReadonlySet<TransitionReason> = new Set<TripReason>([
  'FAILURE_RATE',
  'SLOW_CALL_RATE',
  'FAILURE_COUNT',
  'CONSECUTIVE_FAILURES',
]);

/**
 * Outcomes kept for Redis per breaker while it cannot be reached. A count window keeps the newest
 * that matter (a window's worth, a failure streak's worth): older ones would be evicted from the
 * window by the newer ones anyway. A time window counts all, up to this many; more are dropped.
 */
const MIN_KEPT_FOR_COUNT_WINDOW = 1_000;
const MAX_KEPT_FOR_TIME_WINDOW = 10_000;
/** Operations that waited for Redis sent per script call (a long script would block Redis for the others). */
const DELIVERY_CHUNK = 500;
/** Fallback episodes whose permits may still come back with an outcome to merge. */
const EPOCHS_KEPT = 8;

const noop = (): void => {};

/**
 * A breaker whose state lives in Redis. Operations issued in the same tick go out as one
 * script call (micro-batching: one EVALSHA grants n permits and records m outcomes atomically),
 * so a call's outcome rides with the next call's acquire and costs no round trip of its own.
 *
 * When Redis cannot answer, the store's failure policy decides, per operation, and nothing a
 * caller observed is silently lost:
 * - an outcome whose call did not reach Redis waits, and goes out with the next call that does
 *   (or as soon as Redis answers again);
 * - under `'local'`, the in-process fallback decides; the outcomes it records are merged into the
 *   shared window when Redis answers (they count for the CLOSED period the outage began in, and
 *   change nothing if the shared breaker has moved on), and a trip it decided is carried to the
 *   shared state the same way (`O`: it opens the shared breaker if that period is still current);
 * - a call that timed out may still run when Redis wakes: its late answer is read, and a
 *   half-open permit it was granted goes back at once;
 * - what cannot be delivered (its call's fate is unknown, Redis refused it, too many waited) is
 *   counted and published as dropped (`OUTCOMES_DROPPED`).
 */
export class RedisBreakerEngine implements BreakerEngine {
  private readonly batches: ScriptBatcher<Op>;
  /**
   * The config arguments packed in one (ARGV[2]), the origin left out, as the JSON string the state
   * document stores as `cfg` (the script compares the two as they are).
   */
  private readonly config: string;
  private readonly unregisterClose: () => void;
  private closed = false;
  /** The latest clock reading a caller passed (for operations the engine sends itself). */
  private lastNow = 0;
  /** When the next batch asks Redis to renew the key's expiry (see `args`). */
  private renewAt = Number.NEGATIVE_INFINITY;
  private readonly renewEvery: number;
  /** The shared state as the latest reply left it. */
  private shared:
    | { readonly generation: number; readonly state: CircuitBreakerStateName; readonly openUntil: number }
    | undefined;
  /** In-process state used while Redis is unavailable; dropped (after merging) when it answers. */
  private local: LocalBreakerEngine | undefined;
  private localEpoch = 0;
  /** Per fallback episode: the shared CLOSED period its outcomes are merged into (undefined: none). */
  private readonly epochBases = new Map<number, number | undefined>();
  /** Records waiting for Redis, oldest first, and releases of half-open permits. */
  private readonly undelivered: Op[] = [];
  private readonly undeliveredReleases: Op[] = [];
  private readonly maxUndelivered: number;
  private deliveryArmed = false;
  /** No delivery without a call of this breaker before this (Date.now()): one just failed. */
  private deliveryNotBefore = 0;
  /** A trip the fallback decided, to be carried to the shared state. */
  private carry: { readonly generation: number; readonly reason: TripReason } | undefined;
  /** Outcomes dropped since the last report, by reason, and the timer of the next report. */
  private readonly drops = new Map<DropReason, number>();
  private dropTimer: ReturnType<typeof setTimeout> | undefined;
  private lastPolicyFailureAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly name: string,
    private readonly settings: CircuitBreakerSettings,
    private readonly listener: BreakerEffectsListener,
    private readonly runner: RedisRunner,
    private readonly store: RedisStoreSettings,
    private readonly hooks: StoreHooks,
  ) {
    this.config = packBreakerConfig(configValues(name, settings, store));
    const key = breakerKey(store.keyPrefix, name);
    this.batches = new ScriptBatcher(runner, BREAKER_SCRIPT.name, key, store.clock === 'caller', {
      prepare: (ops) => this.withDeliveries(ops),
      args: (ops, now) => this.args(ops, now),
      reply: (ops, raw) => {
        this.dropFallback();
        if (typeof raw === 'number') this.applyShortPath(ops, raw);
        else this.apply(ops, parseBreakerReply(raw as string), false); // a throw here fails the batch
      },
      failed: (ops, error, fate) => this.fail(ops, error, fate),
      lateReply: (ops, raw) => this.applyLate(ops, raw),
      lateFailed: (ops) => {
        for (const op of ops) if (op.code === 'R') this.drop(1, 'unknown');
      },
    });
    this.renewEvery = Math.min(1_000, store.keyTtlMs / 4);
    this.unregisterClose = runner.onClose({
      // The store closes: what waits for Redis gets one last chance; what still waits after it is
      // counted as dropped.
      flush: () => {
        if (this.hasDeliveries()) this.batches.push(internalOp('G', '', 0, 0, this.lastNow));
      },
      closed: () => this.close(),
    });
    this.maxUndelivered =
      settings.slidingWindowType === 'COUNT_BASED'
        ? Math.max(
            MIN_KEPT_FOR_COUNT_WINDOW,
            settings.slidingWindowSize,
            settings.consecutiveFailureThreshold,
          )
        : MAX_KEPT_FOR_TIME_WINDOW;
  }

  acquire(now: number): Promise<number> {
    return this.enqueue('A', '', 0, 0, now) as Promise<number>;
  }

  record(permit: number, outcome: Outcome, now: number): Promise<void> | undefined {
    if (!isSharedPermit(permit)) {
      this.recordLocal(permit, outcome, now);
      return undefined;
    }
    return this.enqueue('R', generationOf(permit), leaseOf(permit), outcome, now) as Promise<void>;
  }

  release(permit: number, now: number): Promise<void> | undefined {
    if (!isSharedPermit(permit)) {
      const own = fallbackPermitOf(permit, this.localEpoch);
      if (own !== undefined) this.fallbackEngine().release(own, now);
      return undefined;
    }
    return this.enqueue('L', generationOf(permit), leaseOf(permit), 0, now) as Promise<void>;
  }

  transition(target: ManualTarget, now: number): Promise<boolean> {
    return this.enqueue('T', target, 0, 0, now) as Promise<boolean>;
  }

  read(now: number): Promise<BreakerView> {
    return this.enqueue('G', '', 0, 0, now) as Promise<BreakerView>;
  }

  close(): void {
    this.closed = true;
    this.unregisterClose();
    this.local?.close();
    // What still waits for Redis will not get there now.
    const waiting = this.undelivered.splice(0).length;
    this.undeliveredReleases.length = 0;
    if (waiting > 0) this.drop(waiting, 'closed');
    if (this.dropTimer !== undefined) {
      clearTimeout(this.dropTimer);
      this.reportDrops();
    }
  }

  private enqueue(code: Op['code'], a: string | number, b: number, c: number, now: number): Promise<unknown> {
    this.lastNow = now;
    return new Promise((resolve) => this.batches.push({ code, a, b, c, now, resolve }));
  }

  /**
   * The script's arguments. A full window of successes is not rewritten: its expiry is renewed on
   * request (E), at most once per renewal period (each process keeps its own; any of them keeps the
   * key alive), and at once if the clock went back past the last renewal.
   */
  private args(ops: readonly Op[], now: string): string[] {
    const at = ops.at(-1)?.now ?? this.lastNow;
    const renew = at >= this.renewAt || at < this.renewAt - this.renewEvery;
    if (renew) this.renewAt = at + this.renewEvery;
    return [now, this.config, this.store.processId, packOps(ops, renew)];
  }

  private hasDeliveries(): boolean {
    return this.undelivered.length !== 0 || this.undeliveredReleases.length !== 0 || this.carry !== undefined;
  }

  /**
   * What waited for Redis goes first (a chunk of it: the rest follows with the next reply), then
   * the caller's operations, then a carried trip.
   */
  private withDeliveries(ops: Op[]): Op[] {
    if (!this.hasDeliveries()) return ops;
    const all = this.undeliveredReleases.splice(0);
    for (const op of this.undelivered.splice(0, DELIVERY_CHUNK)) all.push(op);
    if (this.undelivered.length !== 0) this.armDelivery();
    for (const op of ops) all.push(op);
    const carry = this.carry;
    if (carry !== undefined) {
      all.push(internalOp('O', carry.generation, carry.reason, 0, all.at(-1)?.now ?? this.lastNow));
    }
    return all;
  }

  private fail(ops: readonly Op[], error: StoreUnavailableError, fate: CallFate): void {
    const storeWide = isStoreWide(error);
    const storeClosed = error.reason === 'closed';
    if (storeWide && fate === 'not-applied') this.deliveryNotBefore = Date.now() + this.deliverySpacing;
    if (!storeWide && !storeClosed) this.policyFailure(error);
    for (const op of ops) {
      let value: unknown;
      if (op.code === 'R' || op.code === 'L') {
        // What this process saw but Redis has not confirmed also counts for the in-process
        // fallback's decisions from now on (the fallback's own outcomes are there already).
        if (op.code === 'R' && op.resolve !== noop && (storeWide || fate === 'pending')) {
          this.fallbackEngine().record(CURRENT_PERMIT, op.c as Outcome, op.now);
        }
        // Never run: it waits for Redis. Refused by Redis for this breaker: it would be again.
        if (fate === 'not-applied' && storeWide) this.requeue(op);
        else if (op.code === 'R' && fate !== 'pending' && fate !== 'applied') {
          this.drop(1, storeClosed ? 'closed' : fate === 'unknown' ? 'unknown' : 'rejected');
        }
      } else if (op.code !== 'O' && op.resolve !== noop) {
        try {
          value = this.fallback(op);
        } catch (e) {
          value = e;
        }
      }
      op.resolve(value);
    }
  }

  /**
   * The script's short path answers with the generation alone: it only takes batches of acquires
   * (each permitted in that generation, CLOSED) and results (recorded), with no effects.
   */
  private applyShortPath(ops: readonly Op[], generation: number): void {
    this.shared = { generation, state: 'CLOSED', openUntil: 0 };
    for (const op of ops) op.resolve(op.code === 'A' ? sharedPermit(generation, 0) : undefined);
  }

  private apply(ops: readonly Op[], reply: BreakerReply, late: boolean): void {
    this.shared = {
      generation: reply.n,
      state: reply.s,
      // The wait's end on this process's clock (the script's clock may be Redis TIME).
      openUntil:
        reply.s === 'OPEN' && reply.u !== undefined
          ? this.lastNow + (reply.u - (reply.now ?? this.lastNow))
          : 0,
    };
    if (reply.g !== undefined) this.hooks.stateReset(this.name, reply.g);
    const effects: StepEffects = {
      transitions: reply.t.map(transitionOf),
      exceeded: reply.x.map(exceededOf),
      reset: reply.z,
    };
    if (!this.closed && (effects.transitions.length > 0 || effects.exceeded.length > 0 || effects.reset)) {
      this.listener(effects);
    }
    ops.forEach((op, i) => {
      const result = reply.r[i];
      switch (op.code) {
        case 'A': {
          const permit = permitOfReply(result);
          // Granted to a caller who already gave up: a half-open permit goes back at once.
          if (late && permit >= 0 && leaseOf(permit) > 0) {
            this.batches.push(internalOp('L', generationOf(permit), leaseOf(permit), 0, op.now));
          } else {
            op.resolve(permit);
          }
          break;
        }
        case 'T':
          op.resolve(result === 1);
          break;
        case 'G': {
          const v = reply.v;
          if (v === undefined) throw new Error('a read without its view');
          op.resolve({
            state: v.state,
            metrics: metricsFrom(v.counts, v.notPermitted),
            nextTransitionAt: v.due,
          });
          break;
        }
        case 'O':
          if (this.carry !== undefined && this.carry.generation === op.a) this.carry = undefined;
          break;
        default:
          op.resolve(undefined);
      }
    });
  }

  /** Redis answered a batch whose callers had given up on it (their operations were decided without it). */
  private applyLate(ops: readonly Op[], raw: ScriptReply): void {
    try {
      if (typeof raw === 'number') this.shared = { generation: raw, state: 'CLOSED', openUntil: 0 };
      else this.apply(ops, parseBreakerReply(raw as string), true);
    } catch {
      // nothing to give back that can be read
    }
  }

  /** Runs an operation on the fallback when Redis cannot (records and releases wait for Redis instead). */
  private fallback(op: Op): unknown {
    switch (op.code) {
      case 'A':
        return this.fallbackAcquire(op.now);
      case 'T':
        return this.fallbackEngine().transition(op.a as ManualTarget, op.now);
      default:
        return this.fallbackRead(op.now);
    }
  }

  private fallbackAcquire(now: number): number {
    switch (this.store.onStoreFailure) {
      case 'allow':
        return ALLOW_PERMIT;
      case 'deny':
        return DENIED_OPEN;
      default: {
        const permit = this.fallbackEngine().acquire(now);
        return permit < 0 ? permit : localPermit(this.localEpoch, permit);
      }
    }
  }

  /** What calls get while Redis cannot answer: under 'deny' they are all refused, as if OPEN. */
  private fallbackRead(now: number): BreakerView {
    const view = this.fallbackEngine().read(now);
    return this.store.onStoreFailure === 'deny' ? { ...view, state: 'OPEN', nextTransitionAt: 0 } : view;
  }

  /** An outcome of a permit the fallback (or 'allow') handed out. */
  private recordLocal(permit: number, outcome: Outcome, now: number): void {
    if (permit === ALLOW_PERMIT) {
      this.drop(1, 'allow');
      return;
    }
    const own = fallbackPermitOf(permit, this.localEpoch);
    if (own !== undefined) this.fallbackEngine().record(own, outcome, now);
    const base = this.epochBases.get(epochOf(permit));
    if (base === undefined) this.drop(1, 'no-shared-window');
    else this.requeue(internalOp('R', base, 0, outcome, now));
  }

  /** Keeps a record or release for Redis (see MIN_KEPT_FOR_COUNT_WINDOW for what is kept). */
  private requeue(op: Op): void {
    const kept = op.resolve === noop ? op : internalOp(op.code, op.a, op.b, op.c, op.now);
    if (op.code === 'L') {
      if (this.undeliveredReleases.length < MAX_KEPT_FOR_TIME_WINDOW) this.undeliveredReleases.push(kept);
    } else {
      const queue = this.undelivered;
      if (queue.length >= this.maxUndelivered) {
        queue.shift();
        if (this.settings.slidingWindowType === 'TIME_BASED') this.drop(1, 'overflow');
      }
      queue.push(kept);
    }
    this.armDelivery();
  }

  /**
   * Sends what waits as soon as Redis answers anything (this engine may have no call to ride on),
   * but not sooner than `deliveryNotBefore`: a delivery that just failed (its node is down, on a
   * Cluster whose other nodes answer) is not tried again on every reply of the others.
   */
  private armDelivery(): void {
    if (this.deliveryArmed || this.closed) return;
    this.deliveryArmed = true;
    this.runner.onNextSuccess(this.deliver);
  }

  private readonly deliver = (): void => {
    if (this.closed) return;
    const wait = this.deliveryNotBefore - Date.now();
    if (wait > 0) {
      // Redis answered (or the connection came up) too soon after a delivery failed: try once the
      // spacing is over (a background timer: what waits is counted as dropped if the breaker is
      // closed first). A try that fails arms the next one.
      setTimeout(this.deliver, wait).unref?.();
      return;
    }
    this.deliveryArmed = false;
    // Any operation will do: withDeliveries() puts what waits in front of it.
    if (this.hasDeliveries()) this.batches.push(internalOp('G', '', 0, 0, this.lastNow));
  };

  /** How long after a failed delivery the next one may be tried without a call of this breaker. */
  private get deliverySpacing(): number {
    return Math.min(this.store.guardWaitDurationMs, 1_000);
  }

  /** Counts outcomes that will never reach Redis; reported at most once a second (a background timer). */
  private drop(count: number, reason: DropReason): void {
    const drops = this.drops;
    if (drops.size === 0 && this.dropTimer === undefined) {
      this.dropTimer = setTimeout(this.reportDrops, 1_000);
      this.dropTimer.unref?.();
    }
    drops.set(reason, (drops.get(reason) ?? 0) + count);
  }

  private readonly reportDrops = (): void => {
    this.dropTimer = undefined;
    for (const [reason, count] of this.drops) this.hooks.outcomesDropped(this.name, count, reason);
    this.drops.clear();
  };

  /** At most one report a second: the same error on every call says nothing more. */
  private policyFailure(error: unknown): void {
    const now = Date.now();
    if (now - this.lastPolicyFailureAt < 1_000) return;
    this.lastPolicyFailureAt = now;
    this.hooks.policyFailure(this.name, error);
  }

  /**
   * Redis answers again: the shared state decides from now on. The fallback's state is dropped
   * (its outcomes and its trip wait to be merged), so that the next outage starts afresh.
   */
  private dropFallback(): void {
    if (this.local === undefined) return;
    this.local.close();
    this.local = undefined;
    this.localEpoch++;
  }

  private fallbackEngine(): LocalBreakerEngine {
    if (this.local === undefined) {
      const settings = this.settings;
      const shared = this.shared;
      // Outcomes of this episode count for the shared period the outage began in, if it records
      // any; a process that never read the shared state gives them to whichever CLOSED period is
      // current when Redis answers (a cold start under load, before the first answer).
      const base =
        shared === undefined
          ? CLOSED_PERIOD_PERMIT
          : shared.state === 'CLOSED' || shared.state === 'METRICS_ONLY'
            ? shared.generation
            : undefined;
      this.epochBases.set(this.localEpoch, base);
      this.epochBases.delete(this.localEpoch - EPOCHS_KEPT);
      this.local = new LocalBreakerEngine(
        settings,
        (fx) => {
          this.noteLocalTrips(fx, base);
          this.listener(fx);
        },
        (now) => createBreakerCell(settings, now, startingState(settings, shared, now)),
      );
    }
    return this.local;
  }

  /** A trip of the fallback is carried to the shared state; its recovery (back to CLOSED) cancels that. */
  private noteLocalTrips(fx: Readonly<StepEffects>, base: number | undefined): void {
    for (const t of fx.transitions) {
      if (t.to === 'OPEN' && TRIP_REASONS.has(t.reason) && base !== undefined) {
        this.carry = { generation: base, reason: t.reason as TripReason };
        this.armDelivery();
      } else if (t.to === 'CLOSED') {
        this.carry = undefined;
      }
    }
  }
}

/**
 * Where the in-process fallback starts: the shared state as this process last read it, so that a
 * breaker Redis had opened (or an operator forced) stays so while Redis cannot be asked; a fresh
 * CLOSED state when it was CLOSED or never read.
 */
function startingState(
  settings: CircuitBreakerSettings,
  shared: { readonly state: CircuitBreakerStateName; readonly openUntil: number } | undefined,
  now: number,
): BreakerState | undefined {
  if (shared === undefined || shared.state === 'CLOSED') return undefined;
  const state = initialBreakerState(settings, now);
  // HALF_OPEN starts as OPEN with its wait over: the next call probes, in this process.
  const target = shared.state === 'HALF_OPEN' ? 'OPEN' : shared.state;
  transitionIn(state, settings, target, now, createEffects());
  if (shared.state === 'HALF_OPEN') state.openUntil = now;
  else if (shared.state === 'OPEN') state.openUntil = Math.max(now, shared.openUntil);
  return state;
}

function internalOp(code: Op['code'], a: string | number, b: number | string, c: number, now: number): Op {
  return { code, a, b, c, now, resolve: noop };
}

/** The script's config for this breaker, by name (wire/breaker-config.ts). */
function configValues(
  name: string,
  s: CircuitBreakerSettings,
  store: RedisStoreSettings,
): BreakerConfigValues {
  return {
    ttlMs: store.keyTtlMs,
    windowType: s.slidingWindowType === 'COUNT_BASED' ? 'COUNT' : 'TIME',
    windowSize: s.slidingWindowSize,
    closedMin: s.closedMinimumCalls,
    halfOpenMin: s.halfOpenMinimumCalls,
    failureRateThreshold: s.failureRateThreshold,
    slowCallRateThreshold: s.slowCallRateThreshold,
    permitted: s.permittedNumberOfCallsInHalfOpenState,
    maxWaitHalfOpen: s.maxWaitDurationInHalfOpenState,
    afterWaitTarget: s.transitionToStateAfterWaitDuration,
    automatic: s.automaticTransitionFromOpenToHalfOpenEnabled ? '1' : '0',
    failureCountThreshold: s.failureCountThreshold,
    consecutiveThreshold: s.consecutiveFailureThreshold,
    halfOpenPolicy: s.halfOpenPolicy,
    successThreshold: s.successThresholdInHalfOpenState,
    leaseMs: store.halfOpenLeaseMs,
    channel: store.publishEvents ? eventsChannel(store.keyPrefix) : '',
    name,
    waits: waitsFor(s),
  };
}

/** The open waits for attempts 1..MAX_OPEN_ATTEMPT (the last one repeats): the script cannot call back into JS. */
function waitsFor(s: CircuitBreakerSettings): string {
  if (!s.hasWaitIntervalFunction) return String(s.waitDurationInOpenState);
  const waits: number[] = [];
  for (let attempt = 1; attempt <= MAX_OPEN_ATTEMPT; attempt++) waits.push(s.waitDurationFor(attempt));
  return waits.join(',');
}
