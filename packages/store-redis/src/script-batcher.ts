import type { RedisRunner, ScriptReply } from './redis-runner.js';
import type { CallFate, StoreUnavailableError } from './store-errors.js';

/**
 * What one policy's engine makes of a batch: its script arguments, and what it does with each way
 * the call can end (see `ScriptCallbacks`). Every method gets the batch as it was sent.
 */
export interface BatchPolicy<Op> {
  /** The batch to send for the operations of one turn (e.g. with operations of its own in front). */
  prepare?(ops: Op[]): Op[];
  /** The script's arguments after the key; `now` is '' (Redis TIME) or the batch's instant. */
  args(ops: readonly Op[], now: string): (string | number)[];
  /** Redis answered in time; a throw fails the batch as 'applied' (the reply could not be read). */
  reply(ops: readonly Op[], raw: ScriptReply): void;
  failed(ops: readonly Op[], error: StoreUnavailableError, fate: CallFate): void;
  /** After `failed(..., 'pending')`: Redis answered after all. */
  lateReply(ops: readonly Op[], raw: ScriptReply): void;
  /** After `failed(..., 'pending')`: the call failed for good (whether it ran is unknown). */
  lateFailed(ops: readonly Op[], error: StoreUnavailableError): void;
}

/**
 * Micro-batching, the one path every Redis engine sends by: the operations one policy issues in
 * an event-loop turn go out as one script call (one EVALSHA grants n permits and records m
 * outcomes atomically), so a call's outcome rides with the next call's acquire and costs no round
 * trip of its own.
 *
 * The flush is a `process.nextTick` callback: Node runs it once the microtasks queued so far have
 * all run, so a call's outcome and the next call's acquire, issued a few promise ticks apart,
 * share a round trip, and the batch leaves in the same turn (waiting for the loop's check phase,
 * as `setImmediate` would, cost every sequential call a few µs). Under `clock: 'caller'` a batch
 * only holds operations of one instant (the scripts take one `now`).
 */
export class ScriptBatcher<Op extends { readonly now: number }> {
  private queue: Op[] = [];
  private scheduled = false;

  constructor(
    private readonly runner: Pick<RedisRunner, 'run'>,
    private readonly script: string,
    private readonly key: string,
    private readonly callerClock: boolean,
    private readonly policy: BatchPolicy<Op>,
  ) {}

  push(op: Op): void {
    this.queue.push(op);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const ops = this.queue;
    this.queue = [];
    if (!this.callerClock) {
      this.send(ops, '');
      return;
    }
    // One batch per run of operations of the same instant.
    let start = 0;
    let instant = ops[0]?.now;
    ops.forEach((op, i) => {
      if (op.now === instant) return;
      this.send(ops.slice(start, i), String(instant));
      start = i;
      instant = op.now;
    });
    if (start < ops.length) this.send(ops.slice(start), String(instant));
  };

  private send(ops: Op[], now: string): void {
    const policy = this.policy;
    const batch = policy.prepare === undefined ? ops : policy.prepare(ops);
    this.runner.run(this.script, this.key, policy.args(batch, now), {
      reply: (raw) => policy.reply(batch, raw),
      failed: (error, fate) => policy.failed(batch, error, fate),
      lateReply: (raw) => policy.lateReply(batch, raw),
      lateFailed: (error) => policy.lateFailed(batch, error),
    });
  }
}
