import type { RedisRunner, ScriptCallbacks, ScriptReply } from './redis-runner.js';
import { type CallFate, isStoreWide, type StoreUnavailableError } from './store-errors.js';
import { TurnBatcher } from './turn-batcher.js';

/** One operation waiting for its script call. */
export interface BatchedOp {
  /** The caller's clock reading: batches hold operations of one instant under `clock: 'caller'`. */
  readonly now: number;
  /** The operation's arguments (a fixed number per script). */
  readonly args: readonly (string | number)[];
  /** Redis answered: this operation's slot in the reply. */
  done(result: number): void;
  /** Redis did not answer (or answered nonsense): the failure policy decides. Must not throw. */
  failed(fate: CallFate): void;
  /**
   * After `failed('pending')`: Redis answered after all (`result`, this operation's slot), or the
   * call failed for good (`undefined`: whether it ran is unknown).
   */
  late?(result: number | undefined): void;
}

export interface ScriptBatcherOptions {
  readonly runner: RedisRunner;
  readonly script: string;
  readonly key: string;
  /** `clock: 'caller'`: pass each batch's `now` to the script instead of using Redis TIME. */
  readonly callerClock: boolean;
  /** Arguments between `now` and the operations. */
  readonly head: readonly (string | number)[];
  /** Values the reply carries before the per-operation results. */
  readonly replyHead: number;
  /** Receives the reply's head values of every reply, on time or late, before its operations settle. */
  readonly onReplyHead: (head: readonly unknown[]) => void;
  /** Redis refused this policy's request (an error that is not about Redis as a whole). */
  readonly onPolicyFailure: (error: StoreUnavailableError) => void;
}

/**
 * Micro-batching for one policy's script: operations issued in the same event-loop turn go out as one
 * EVALSHA (`<now> <head...> <op args...>`), atomically, and each gets its slot of the reply
 * (`[<reply head...>, r1, r2, ...]`). Every Redis failure becomes `failed()` on each operation:
 * nothing is ever rejected.
 */
export class ScriptBatcher {
  private readonly batches: TurnBatcher<BatchedOp>;

  constructor(private readonly options: ScriptBatcherOptions) {
    this.batches = new TurnBatcher(options.callerClock, (ops, now) => this.send(ops, now));
  }

  push(op: BatchedOp): void {
    this.batches.push(op);
  }

  private send(ops: readonly BatchedOp[], now: string): void {
    const o = this.options;
    const args: (string | number)[] = [now, ...o.head];
    for (const op of ops) for (const a of op.args) args.push(a);
    const callbacks: ScriptCallbacks = {
      reply: (raw) => {
        const results = this.results(raw, ops.length);
        if (results === undefined) throw new Error('a reply of the wrong shape');
        for (let i = 0; i < ops.length; i++) settle(ops[i], results[i]);
      },
      failed: (error, fate) => {
        if (!isStoreWide(error) && error.reason !== 'closed') o.onPolicyFailure(error);
        for (const op of ops) guarded(() => op.failed(fate));
      },
      lateReply: (raw) => {
        const results = this.results(raw, ops.length);
        for (let i = 0; i < ops.length; i++) {
          const op = ops[i];
          if (op.late !== undefined) guarded(() => op.late?.(results?.[i]));
        }
      },
      lateFailed: () => {
        for (const op of ops) if (op.late !== undefined) guarded(() => op.late?.(undefined));
      },
    };
    o.runner.run(o.script, o.key, args, callbacks);
  }

  /** Each operation's result, or undefined when the reply is not what the script answers. */
  private results(raw: ScriptReply, count: number): (number | undefined)[] | undefined {
    const o = this.options;
    if (!Array.isArray(raw) || raw.length !== o.replyHead + count) return undefined;
    guarded(() => o.onReplyHead(raw.slice(0, o.replyHead)));
    const results: (number | undefined)[] = [];
    for (let i = 0; i < count; i++) {
      const value = Number(raw[o.replyHead + i]);
      results.push(Number.isFinite(value) ? value : undefined);
    }
    return results;
  }
}

function settle(op: BatchedOp, value: number | undefined): void {
  guarded(() => {
    if (value !== undefined) op.done(value);
    else op.failed('applied');
  });
}

function guarded(fn: () => void): void {
  try {
    fn();
  } catch {
    // operations settle their own promises; a throw here must not become an unhandled rejection
  }
}
