/**
 * Collects the operations one policy issues in an event-loop turn and hands them over as one
 * batch (one script call). The flush is a `process.nextTick` callback: Node runs it once the
 * microtasks queued so far have all run, so a call's outcome and the next call's acquire, issued
 * a few promise ticks apart, share a round trip, and the batch leaves in the same turn (waiting
 * for the loop's check phase, as `setImmediate` would, cost every sequential call a few µs). Under
 * `clock: 'caller'` a batch only holds operations of one instant (the script takes one `now`).
 */
export class TurnBatcher<T extends { readonly now: number }> {
  private queue: T[] = [];
  private scheduled = false;

  constructor(
    private readonly callerClock: boolean,
    /** Sends one batch; `now` is '' (Redis TIME) or the batch's instant. */
    private readonly send: (ops: T[], now: string) => void,
  ) {}

  push(op: T): void {
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
    let start = 0;
    for (let i = 1; i <= ops.length; i++) {
      if (i === ops.length || ops[i].now !== ops[start].now) {
        this.send(ops.slice(start, i), String(ops[start].now));
        start = i;
      }
    }
  };
}
