import { type ListenedCell, ListeningEngine } from '../common/listened-cell.js';
import { WeakListenerSet } from '../common/weak-listener-set.js';
import type { CircuitBreakerSettings } from './circuit-breaker-config.js';
import {
  acquireIn,
  clearEffects,
  createEffects,
  hasEffects,
  type ManualTarget,
  metricsOf,
  nextDueAt,
  recordIn,
  refreshIn,
  releaseIn,
  type StepEffects,
  transitionIn,
} from './circuit-breaker-machine.js';
import { type BreakerState, initialBreakerState } from './circuit-breaker-state.js';
import type { BreakerEffectsListener, BreakerEngine, BreakerView } from './circuit-breaker-store.js';
import type { Outcome } from './sliding-window.js';

/** The listeners of a breaker's shared state: held weakly, see `WeakListenerSet`. */
export type BreakerListeners = WeakListenerSet<Parameters<BreakerEffectsListener>>;

/** One breaker's in-process state and everyone listening to it. */
export interface BreakerCell extends ListenedCell<Parameters<BreakerEffectsListener>> {
  state: BreakerState;
}

export function createBreakerCell(
  settings: CircuitBreakerSettings,
  now: number,
  state?: BreakerState,
): BreakerCell {
  return {
    state: state ?? initialBreakerState(settings, now),
    lastUsed: now,
    evicted: false,
    order: undefined,
    listeners: new WeakListenerSet(),
  };
}

/**
 * Runs the reference state machine in place on an in-process cell: the engine behind
 * `MemoryStore` and behind a breaker created without a store. Synchronous throughout.
 */
export class LocalBreakerEngine
  extends ListeningEngine<Parameters<BreakerEffectsListener>, BreakerCell>
  implements BreakerEngine
{
  private readonly fx: StepEffects = createEffects();

  constructor(
    private readonly settings: CircuitBreakerSettings,
    listener: BreakerEffectsListener,
    /** Finds (or creates) the cell this engine works on. */
    attach: (now: number) => BreakerCell,
  ) {
    super(listener, attach);
  }

  acquire(now: number): number {
    const cell = this.cellAt(now);
    const s = cell.state;
    // CLOSED permits every call and changes nothing: answered before acquireIn's switch and the
    // effects check (bench `breaker`, cases `ours-count` and `ours-time`).
    if (s.state === 'CLOSED') return s.generation;
    const permit = acquireIn(s, this.settings, now, this.fx);
    if (hasEffects(this.fx)) this.flush(cell);
    return permit;
  }

  record(permit: number, outcome: Outcome, now: number): void {
    const cell = this.cellAt(now);
    recordIn(cell.state, this.settings, permit, outcome, now, this.fx);
    if (hasEffects(this.fx)) this.flush(cell);
  }

  release(permit: number, now: number): void {
    const cell = this.cellAt(now);
    releaseIn(cell.state, this.settings, permit, now, this.fx);
    if (hasEffects(this.fx)) this.flush(cell);
  }

  transition(target: ManualTarget, now: number): boolean {
    const cell = this.cellAt(now);
    const legal = transitionIn(cell.state, this.settings, target, now, this.fx);
    if (hasEffects(this.fx)) this.flush(cell);
    return legal;
  }

  read(now: number): BreakerView {
    const cell = this.cellAt(now);
    refreshIn(cell.state, this.settings, now, this.fx);
    if (hasEffects(this.fx)) this.flush(cell);
    return {
      state: cell.state.state,
      metrics: metricsOf(cell.state),
      nextTransitionAt: nextDueAt(cell.state, this.settings),
    };
  }

  private flush(cell: BreakerCell): void {
    const effects: StepEffects = {
      transitions: this.fx.transitions,
      exceeded: this.fx.exceeded,
      reset: this.fx.reset,
    };
    clearEffects(this.fx);
    cell.listeners.emit(effects);
  }
}
