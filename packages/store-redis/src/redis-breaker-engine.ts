import {
  type BreakerEffectsListener,
  type BreakerEngine,
  type BreakerTransition,
  type BreakerView,
  type CircuitBreakerMetrics,
  type CircuitBreakerSettings,
  type CircuitBreakerStateName,
  createBreakerCell,
  DENIED_OPEN,
  LocalBreakerEngine,
  MAX_OPEN_ATTEMPT,
  type ManualTarget,
  type Outcome,
  type StepEffects,
  type ThresholdExceeded,
  type TransitionReason,
} from '@breakwater/core';
import type { RedisRunner } from './redis-runner.js';
import type { RedisStoreSettings } from './redis-store-options.js';
import { TurnBatcher } from './turn-batcher.js';

/** Tokens at or above this come from the in-process fallback engine: LOCAL_BASE + epoch * LOCAL_EPOCH + its permit. */
const LOCAL_BASE = 2 ** 52;
const LOCAL_EPOCH = 2 ** 32;
/** Handed out under `onStoreFailure: 'allow'`: a permit nobody records. */
const ALLOW_TOKEN = 2 ** 53 - 2;
const LEASE_SPAN = 2 ** 21;
const CURRENT = -1;

export type Counts = [
  calls: number,
  failures: number,
  slow: number,
  slowFailures: number,
  minimumCalls: number,
];

/** A transition as the script reports it (in its reply and on the events channel): counts, not rates. */
export interface ScriptTransition {
  from: CircuitBreakerStateName;
  to: CircuitBreakerStateName;
  at: number;
  reason: TransitionReason;
  until: number;
  counts: Counts;
}

/** A transition with its rates, computed from the script's counts as the in-process engine does. */
export function transitionOf(t: ScriptTransition): BreakerTransition {
  return {
    from: t.from,
    to: t.to,
    at: t.at,
    reason: t.reason,
    failureRate: rate(t.counts[1], t.counts),
    slowCallRate: rate(t.counts[2], t.counts),
    until: t.until,
  };
}

interface Reply {
  r: (number[] | number)[];
  t: ScriptTransition[];
  x: { type: ThresholdExceeded['type']; at: number; counts: Counts }[];
  z: boolean;
  v?: { state: CircuitBreakerStateName; counts: Counts; notPermitted: number; due: number };
  g?: string;
}

interface Op {
  readonly code: 'A' | 'R' | 'L' | 'T' | 'G';
  readonly a: string | number;
  readonly b: number;
  readonly c: number;
  readonly now: number;
  resolve(value: unknown): void;
}

export interface StoreHooks {
  /** A policy's key held garbage; the script reset it. */
  stateReset(policy: string, reason: string): void;
}

/** A rate from the counts a script returns, exactly as the in-process engine computes it. */
export function rate(part: number, c: Counts): number {
  return c[0] === 0 || c[0] < c[4] ? -1 : (part * 100) / c[0];
}

function metricsFrom(c: Counts, notPermitted: number): CircuitBreakerMetrics {
  return {
    failureRate: rate(c[1], c),
    slowCallRate: rate(c[2], c),
    numberOfBufferedCalls: c[0],
    numberOfFailedCalls: c[1],
    numberOfSlowCalls: c[2],
    numberOfSlowSuccessfulCalls: c[2] - c[3],
    numberOfSlowFailedCalls: c[3],
    numberOfSuccessfulCalls: c[0] - c[1],
    numberOfNotPermittedCalls: notPermitted,
  };
}

/**
 * A breaker whose state lives in Redis. Operations issued in the same tick go out as one
 * script call (micro-batching: one EVALSHA grants n permits and records m outcomes atomically),
 * so a call's outcome rides with the next call's acquire and costs no round trip of its own.
 * When Redis cannot answer, the store's failure policy decides, per operation.
 */
export class RedisBreakerEngine implements BreakerEngine {
  private readonly batches: TurnBatcher<Op>;
  private local: LocalBreakerEngine | undefined;
  private readonly key: string;
  /**
   * The config arguments packed in one (ARGV[2]), the origin left out, as the JSON string the state
   * document stores as `cfg` (the script compares the two as they are).
   */
  private readonly config: string;
  private closed = false;
  /** When the next batch asks Redis to renew the key's expiry (see `send`). */
  private renewAt = Number.NEGATIVE_INFINITY;
  private readonly renewEvery: number;

  constructor(
    private readonly name: string,
    private readonly settings: CircuitBreakerSettings,
    private readonly listener: BreakerEffectsListener,
    private readonly runner: RedisRunner,
    private readonly store: RedisStoreSettings,
    private readonly hooks: StoreHooks,
  ) {
    this.key = `${store.keyPrefix}:{cb:${name}}:state`;
    this.batches = new TurnBatcher(store.clock === 'caller', (ops, now) => this.send(ops, now));
    const s = settings;
    const config = [
      String(store.keyTtlMs),
      s.slidingWindowType === 'COUNT_BASED' ? 'COUNT' : 'TIME',
      String(s.slidingWindowSize),
      String(s.closedMinimumCalls),
      String(s.halfOpenMinimumCalls),
      String(s.failureRateThreshold),
      String(s.slowCallRateThreshold),
      String(s.permittedNumberOfCallsInHalfOpenState),
      String(s.maxWaitDurationInHalfOpenState),
      s.transitionToStateAfterWaitDuration,
      s.automaticTransitionFromOpenToHalfOpenEnabled ? '1' : '0',
      String(s.failureCountThreshold),
      String(s.consecutiveFailureThreshold),
      s.halfOpenPolicy,
      String(s.successThresholdInHalfOpenState),
      String(store.halfOpenLeaseMs),
      store.publishEvents ? `${store.keyPrefix}:events` : '',
      name,
      '', // origin: travels on its own (ARGV[3]), so that every process stores the same cfg
      waitsFor(s),
    ];
    this.config = JSON.stringify(config.join('\n'));
    this.renewEvery = Math.min(1_000, store.keyTtlMs / 4);
  }

  acquire(now: number): Promise<number> {
    return this.enqueue('A', '', 0, 0, now) as Promise<number>;
  }

  record(permit: number, outcome: Outcome, now: number): Promise<void> | undefined {
    if (permit >= LOCAL_BASE) {
      const local = this.localPermit(permit);
      if (local >= 0) this.fallbackEngine().record(local, outcome, now);
      return undefined;
    }
    return this.enqueue('R', generationOf(permit), leaseOf(permit), outcome, now) as Promise<void>;
  }

  release(permit: number, now: number): Promise<void> | undefined {
    if (permit >= LOCAL_BASE) {
      const local = this.localPermit(permit);
      if (local >= 0) this.fallbackEngine().release(local, now);
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
    this.local?.close();
  }

  private enqueue(code: Op['code'], a: string | number, b: number, c: number, now: number): Promise<unknown> {
    return new Promise((resolve) => this.batches.push({ code, a, b, c, now, resolve }));
  }

  private send(ops: Op[], now: string): void {
    let batch = '';
    // Marked + when it holds only acquires and successes: on a full window of successes the script
    // then answers without reading the operations.
    let plain = true;
    for (const op of ops) {
      batch += (batch === '' ? '' : ' ') + packOp(op);
      if (op.code !== 'A' && (op.code !== 'R' || op.c !== 0)) plain = false;
    }
    // A full window of successes is not rewritten: its expiry is renewed on request, at most once per
    // renewal period (each process keeps its own; any of them keeps the key alive), and at once if
    // the clock went back past the last renewal.
    const at = ops[ops.length - 1].now;
    if (at >= this.renewAt || at < this.renewAt - this.renewEvery) {
      this.renewAt = at + this.renewEvery;
      batch += ' E';
    }
    const args: (string | number)[] = [now, this.config, this.store.processId, plain ? `+${batch}` : batch];
    this.runner.run(
      'breakwaterBreaker',
      this.key,
      args,
      (raw) => {
        this.runner.reportSuccess();
        this.dropFallback();
        if (typeof raw === 'number') this.applyShortPath(ops, raw);
        else this.apply(ops, parseReply(raw as string)); // a throw here fails the batch (onError)
      },
      (error) => this.fail(ops, error),
    );
  }

  private fail(ops: Op[], error: unknown): void {
    this.runner.reportFailure(error);
    for (const op of ops) {
      let value: unknown;
      try {
        value = this.fallback(op);
      } catch (e) {
        value = e;
      }
      op.resolve(value);
    }
  }

  /**
   * The script's short path answers with the generation alone: it only takes batches of acquires
   * (each permitted in that generation, CLOSED) and results (recorded), with no effects.
   */
  private applyShortPath(ops: Op[], generation: number): void {
    for (const op of ops) op.resolve(op.code === 'A' ? generation * LEASE_SPAN : undefined);
  }

  private apply(ops: Op[], reply: Reply): void {
    if (reply.g !== undefined) this.hooks.stateReset(this.name, reply.g);
    const effects: StepEffects = {
      transitions: reply.t.map(transitionOf),
      exceeded: reply.x.map(
        (x): ThresholdExceeded => ({
          type: x.type,
          at: x.at,
          rate: rate(x.type === 'FAILURE_RATE_EXCEEDED' ? x.counts[1] : x.counts[2], x.counts),
        }),
      ),
      reset: reply.z,
    };
    if (!this.closed && (effects.transitions.length > 0 || effects.exceeded.length > 0 || effects.reset)) {
      this.listener(effects);
    }
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const result = reply.r[i];
      switch (op.code) {
        case 'A': {
          const r = result as number[];
          op.resolve(r.length === 1 ? r[0] : r[0] * LEASE_SPAN + r[1]);
          break;
        }
        case 'T':
          op.resolve(result === 1);
          break;
        case 'G': {
          const v = reply.v!;
          op.resolve({
            state: v.state,
            metrics: metricsFrom(v.counts, v.notPermitted),
            nextTransitionAt: v.due,
          });
          break;
        }
        default:
          op.resolve(undefined);
      }
    }
  }

  /** Runs an operation on the fallback when Redis cannot (a permit of Redis' own is not the fallback's to record). */
  private fallback(op: Op): unknown {
    switch (op.code) {
      case 'A':
        return this.fallbackAcquire(op.now);
      case 'R':
        if (op.a === CURRENT) this.fallbackEngine().record(CURRENT, op.c as Outcome, op.now);
        return undefined;
      case 'L':
        if (op.a === CURRENT) this.fallbackEngine().release(CURRENT, op.now);
        return undefined;
      case 'T':
        return this.fallbackEngine().transition(op.a as ManualTarget, op.now);
      default:
        return this.fallbackEngine().read(op.now);
    }
  }

  private fallbackAcquire(now: number): number {
    switch (this.store.onStoreFailure) {
      case 'allow':
        return ALLOW_TOKEN;
      case 'deny':
        return DENIED_OPEN;
      default: {
        const permit = this.fallbackEngine().acquire(now);
        return permit < 0 ? permit : LOCAL_BASE + this.localEpoch * LOCAL_EPOCH + permit;
      }
    }
  }

  /** In-process state used while Redis is unavailable (and kept for the next outage). */
  /** The fallback's own permit, or -1 for a permit of an earlier outage (or an 'allow' token): nothing to record. */
  private localPermit(token: number): number {
    if (token === ALLOW_TOKEN) return -1;
    const rest = token - LOCAL_BASE;
    return Math.floor(rest / LOCAL_EPOCH) === this.localEpoch ? rest % LOCAL_EPOCH : -1;
  }

  /**
   * Redis answers again: the shared state decides from now on. The fallback's state is dropped,
   * so that the next outage starts from a clean slate rather than from what an old one tripped.
   */
  private dropFallback(): void {
    if (this.local === undefined) return;
    this.local.close();
    this.local = undefined;
    this.localEpoch++;
  }

  private localEpoch = 0;

  private fallbackEngine(): LocalBreakerEngine {
    if (this.local === undefined) {
      const settings = this.settings;
      this.local = new LocalBreakerEngine(
        settings,
        (fx) => this.listener(fx),
        (now) => createBreakerCell(settings, now),
      );
    }
    return this.local;
  }
}

/** Lua's cjson writes an empty table as `{}`: read every list defensively. */
function parseReply(raw: string): Reply {
  const reply = JSON.parse(raw) as Reply;
  const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
  return { ...reply, r: list(reply.r), t: list(reply.t), x: list(reply.x) };
}

/** One operation in the script's packed layout: its letter, then its arguments, comma-separated. */
function packOp(op: Op): string {
  switch (op.code) {
    case 'A':
    case 'G':
      return op.code;
    case 'T':
      return `T${op.a}`;
    case 'L':
      return `L${op.a},${op.b}`;
    default:
      return `R${op.a},${op.b},${op.c}`;
  }
}

function generationOf(permit: number): number {
  return permit === CURRENT ? CURRENT : Math.floor(permit / LEASE_SPAN);
}

function leaseOf(permit: number): number {
  return permit === CURRENT ? 0 : permit % LEASE_SPAN;
}

/** The open waits for attempts 1..MAX_OPEN_ATTEMPT (the last one repeats): the script cannot call back into JS. */
function waitsFor(s: CircuitBreakerSettings): string {
  if (!s.hasWaitIntervalFunction) return String(s.waitDurationInOpenState);
  const waits: number[] = [];
  for (let attempt = 1; attempt <= MAX_OPEN_ATTEMPT; attempt++) waits.push(s.waitDurationFor(attempt));
  return waits.join(',');
}
