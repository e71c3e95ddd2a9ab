import type { RedisRunner } from './redis-runner.js';
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
  failed(): void;
}

/**
 * Micro-batching for one policy's script: operations issued in the same event-loop turn go out as one
 * EVALSHA (`<now> <head...> <op args...>`), atomically, and each gets its slot of the reply
 * (`[<reply head...>, r1, r2, ...]`). Every Redis failure becomes `failed()` on each operation:
 * nothing is ever rejected.
 */
export class ScriptBatcher {
  private readonly batches: TurnBatcher<BatchedOp>;

  constructor(
    private readonly runner: RedisRunner,
    private readonly script: string,
    private readonly key: string,
    /** `clock: 'caller'`: pass each batch's `now` to the script instead of using Redis TIME. */
    callerClock: boolean,
    /** Arguments between `now` and the operations. */
    private readonly head: readonly (string | number)[],
    /** Values the reply carries before the per-operation results. */
    private readonly replyHead: number,
    /** Receives the reply's head values of every successful call, before the operations settle. */
    private readonly onReplyHead: (head: readonly unknown[]) => void,
  ) {
    this.batches = new TurnBatcher(callerClock, (ops, now) => this.send(ops, now));
  }

  push(op: BatchedOp): void {
    this.batches.push(op);
  }

  private send(ops: readonly BatchedOp[], now: string): void {
    const args: (string | number)[] = [now, ...this.head];
    for (const op of ops) for (const a of op.args) args.push(a);
    this.runner.run(
      this.script,
      this.key,
      args,
      (raw: unknown) => {
        this.runner.reportSuccess();
        if (!Array.isArray(raw) || raw.length !== this.replyHead + ops.length) {
          fail(ops);
          return;
        }
        try {
          this.onReplyHead(raw.slice(0, this.replyHead));
        } catch {
          // a listener's problem must not stop the operations from settling
        }
        for (let i = 0; i < ops.length; i++) {
          const value = Number(raw[this.replyHead + i]);
          settle(ops[i], Number.isFinite(value), value);
        }
      },
      (error: unknown) => {
        this.runner.reportFailure(error);
        fail(ops);
      },
    );
  }
}

function fail(ops: readonly BatchedOp[]): void {
  for (const op of ops) settle(op, false, 0);
}

function settle(op: BatchedOp, ok: boolean, value: number): void {
  try {
    if (ok) op.done(value);
    else op.failed();
  } catch {
    // operations settle their own promises; a throw here must not become an unhandled rejection
  }
}
