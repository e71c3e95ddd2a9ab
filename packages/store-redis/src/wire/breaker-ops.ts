/**
 * A breaker batch on the wire: the operations packed into the script's ARGV[4], and the script's
 * JSON reply read back (`breaker.lua` says what each means).
 */
import type { CircuitBreakerStateName, TransitionReason } from '@breakwater/core';
import type { BreakerTransition, ManualTarget, ThresholdExceeded } from '@breakwater/core/engine';
import { type BreakerConfigValues, packBreakerConfig } from './breaker-config.js';
import { type Counts, rateOf } from './breaker-document.js';

/**
 * One operation and its arguments: A acquire; R record (a generation, b lease, c outcome); L release
 * (a generation, b lease); T transition (a target); G read; O carry a trip (a generation, b reason).
 */
export interface BreakerOp {
  readonly code: 'A' | 'R' | 'L' | 'T' | 'G' | 'O';
  readonly a: string | number;
  readonly b: number | string;
  readonly c: number;
}

/** One operation: its letter, then its arguments, comma-separated. */
export function packOp(op: BreakerOp): string {
  switch (op.code) {
    case 'A':
    case 'G':
      return op.code;
    case 'T':
      return `T${op.a}`;
    case 'O':
    case 'L':
      return `${op.code}${op.a},${op.b}`;
    default:
      return `R${op.a},${op.b},${op.c}`;
  }
}

/**
 * A batch's operations (ARGV[4]), space-separated; `+` in front when it holds only acquires and
 * successes (on a full window of successes the script then answers without reading them), and
 * `E` last when the key's expiry is to be renewed even if nothing is written.
 */
export function packOps(ops: readonly BreakerOp[], renew: boolean): string {
  let batch = '';
  let plain = true;
  for (const op of ops) {
    batch += (batch === '' ? '' : ' ') + packOp(op);
    if (op.code !== 'A' && (op.code !== 'R' || op.c !== 0)) plain = false;
  }
  if (renew) batch += ' E';
  return plain ? `+${batch}` : batch;
}

/**
 * The arguments (after the key) of one manual transition, run on a breaker with the config its
 * document stores: what operator tools send to make one.
 */
export function forcedTransitionArgs(
  config: BreakerConfigValues,
  target: ManualTarget,
  origin: string,
): string[] {
  return ['', packBreakerConfig(config), origin, packOps([{ code: 'T', a: target, b: 0, c: 0 }], false)];
}

/** A transition as the script reports it (in its reply and on the events channel): counts, not rates. */
export interface ScriptTransition {
  readonly from: CircuitBreakerStateName;
  readonly to: CircuitBreakerStateName;
  readonly at: number;
  readonly reason: TransitionReason;
  readonly until: number;
  readonly counts: Counts;
}

/** A transition with its rates, computed from the script's counts as the in-process engine does. */
export function transitionOf(t: ScriptTransition): BreakerTransition {
  return {
    from: t.from,
    to: t.to,
    at: t.at,
    reason: t.reason,
    failureRate: rateOf(t.counts[1], t.counts),
    slowCallRate: rateOf(t.counts[2], t.counts),
    until: t.until,
  };
}

/** A threshold the script reports as exceeded, with its rate. */
export function exceededOf(x: ScriptExceeded): ThresholdExceeded {
  return {
    type: x.type,
    at: x.at,
    rate: rateOf(x.type === 'FAILURE_RATE_EXCEEDED' ? x.counts[1] : x.counts[2], x.counts),
  };
}

export interface ScriptExceeded {
  readonly type: ThresholdExceeded['type'];
  readonly at: number;
  readonly counts: Counts;
}

/** The state the script reports for a read (G). */
export interface ScriptView {
  readonly state: CircuitBreakerStateName;
  readonly counts: Counts;
  readonly notPermitted: number;
  readonly due: number;
}

/** The machine's reply to a batch (the fast path answers with the generation alone). */
export interface BreakerReply {
  /** Per operation: an acquire's `[generation, lease]` or `[DENIED_*]`; 1 or 0 for the others. */
  readonly r: readonly (readonly number[] | number)[];
  readonly t: readonly ScriptTransition[];
  readonly x: readonly ScriptExceeded[];
  /** The state was reset (RESET). */
  readonly z: boolean;
  /** The batch's read, if it had one. */
  readonly v?: ScriptView;
  /** Why the key was reset (it held garbage). */
  readonly g?: string;
  /** The generation and state the batch left, and when its OPEN wait ends (0 unless OPEN). */
  readonly n: number;
  readonly s: CircuitBreakerStateName;
  readonly u?: number;
  /** The script's clock when it ran (epoch ms). */
  readonly now?: number;
}

/** Reads the machine's reply; Lua's cjson writes an empty table as `{}`, so every list is read defensively. */
export function parseBreakerReply(raw: string): BreakerReply {
  const reply = JSON.parse(raw) as BreakerReply;
  return { ...reply, r: listOf(reply.r), t: listOf(reply.t), x: listOf(reply.x) };
}

function listOf<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}
