import type { ScriptReply } from './redis-runner.js';
import type { BatchPolicy } from './script-batcher.js';
import { type CallFate, isStoreWide, type StoreUnavailableError } from './store-errors.js';

/** One operation of a script whose reply gives each operation a number of its own (rate limiter, bulkhead). */
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
   * After `failed('pending')`: Redis answered after all (`result`, this operation's slot; `head`,
   * the reply's head values), or the call failed for good (`undefined`: whether it ran is unknown).
   */
  late?(result: number | undefined, head?: readonly unknown[]): void;
}

export interface PerOpBatchOptions {
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
 * The batch shape of the rate limiter's and the bulkhead's scripts: `<now> <head...> <op args...>`
 * in, `[<reply head...>, r1, r2, ...]` out, each operation settled by its own callbacks. Every
 * Redis failure becomes `failed()` on each operation: nothing is ever rejected.
 */
export class PerOpBatch implements BatchPolicy<BatchedOp> {
  constructor(private readonly options: PerOpBatchOptions) {}

  args(ops: readonly BatchedOp[], now: string): (string | number)[] {
    const args: (string | number)[] = [now, ...this.options.head];
    for (const op of ops) for (const a of op.args) args.push(a);
    return args;
  }

  reply(ops: readonly BatchedOp[], raw: ScriptReply): void {
    const results = this.results(raw, ops.length);
    if (results === undefined) throw new Error('a reply of the wrong shape');
    ops.forEach((op, i) => {
      settle(op, results[i]);
    });
  }

  failed(ops: readonly BatchedOp[], error: StoreUnavailableError, fate: CallFate): void {
    if (!isStoreWide(error) && error.reason !== 'closed') this.options.onPolicyFailure(error);
    for (const op of ops) guarded(() => op.failed(fate));
  }

  lateReply(ops: readonly BatchedOp[], raw: ScriptReply): void {
    const results = this.results(raw, ops.length);
    const head = results === undefined ? undefined : (raw as unknown[]).slice(0, this.options.replyHead);
    ops.forEach((op, i) => {
      if (op.late !== undefined) guarded(() => op.late?.(results?.[i], head));
    });
  }

  lateFailed(ops: readonly BatchedOp[]): void {
    for (const op of ops) if (op.late !== undefined) guarded(() => op.late?.(undefined));
  }

  /** Each operation's result, or undefined when the reply is not what the script answers. */
  private results(raw: ScriptReply, count: number): (number | undefined)[] | undefined {
    const { replyHead, onReplyHead } = this.options;
    if (!Array.isArray(raw) || raw.length !== replyHead + count) return undefined;
    guarded(() => onReplyHead(raw.slice(0, replyHead)));
    const results: (number | undefined)[] = [];
    for (let i = 0; i < count; i++) {
      const value = Number(raw[replyHead + i]);
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
