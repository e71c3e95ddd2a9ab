import type { CircuitBreakerStateName } from '@breakwater/core';

/** The state as opossum's getters and events show it. */
export type Phase = 'closed' | 'open' | 'halfOpen';

/**
 * Breakwater's six states seen through opossum's three: FORCED_OPEN refuses calls as OPEN does;
 * DISABLED and METRICS_ONLY let every call through, as CLOSED does.
 */
export function phaseOf(state: CircuitBreakerStateName | string): Phase {
  switch (state) {
    case 'OPEN':
    case 'FORCED_OPEN':
      return 'open';
    case 'HALF_OPEN':
      return 'halfOpen';
    default:
      return 'closed';
  }
}

/**
 * The state a breaker shows (getters, events), following the transitions of its engine and of
 * the other processes sharing it.
 *
 * The engine's transitions arrive while it decides, in the middle of a call's settlement: they
 * wait in `pending` until the call that caused them has told its own outcome (the breaker then
 * calls `flush`), so that 'failure' comes before the 'open' it caused, as in opossum. Those
 * without such a call (timers, other processes) are shown on the next turn of the event loop.
 */
export class PhaseTracker {
  phase: Phase = 'closed';
  private readonly pending: Phase[] = [];
  private lastTransitionAt = Number.NEGATIVE_INFINITY;
  private scheduled = false;

  /** `entered` is told every change of the phase, once the phase is set. */
  constructor(private readonly entered: (phase: Phase) => void) {}

  get hasPending(): boolean {
    return this.pending.length !== 0;
  }

  /** A transition of this breaker's engine, made at `at`. */
  fromEngine(phase: Phase, at: number): void {
    if (at > this.lastTransitionAt) this.lastTransitionAt = at;
    this.push(phase);
  }

  /** A transition another process made: one older than the latest known arrived late, and is stale. */
  fromFleet(phase: Phase, at: number): void {
    if (at < this.lastTransitionAt) return;
    this.lastTransitionAt = at;
    this.push(phase);
  }

  /** Shows what is pending, in order. */
  flush(): void {
    // splice: a listener that fires or opens the breaker queues after these, and flushes its own.
    for (const phase of this.pending.splice(0)) this.show(phase);
  }

  /** Shows `phase` now if it is not the one shown (a refusal or a read revealed it, say); true if it changed. */
  show(phase: Phase): boolean {
    if (phase === this.phase) return false;
    this.phase = phase;
    this.entered(phase);
    return true;
  }

  private push(phase: Phase): void {
    this.pending.push(phase);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushLater).unref();
  }

  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };
}
