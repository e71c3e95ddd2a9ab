import type { CircuitBreakerSettings, Store } from '@breakwater/core';
import {
  type BreakerEffectsListener,
  type BreakerEngine,
  createBreakerCell,
  LocalBreakerEngine,
} from '@breakwater/core/engine';

/**
 * The store the adapter hands its Breakwater breaker: it builds the breaker's engine as the user's
 * store would (or in process, as a breaker without a store does), keeps it for the adapter's own
 * call path, and tells the adapter every effect (transition) of that engine. Listening here, and
 * not to the breaker's events, costs nothing per call: a breaker with an event listener builds an
 * event for every call.
 */
export class ObservedStore implements Store {
  readonly kind: string;
  /** The engine of the (one) breaker built on this store. */
  engine: BreakerEngine | undefined;

  constructor(
    private readonly inner: Store | undefined,
    private readonly observer: BreakerEffectsListener,
  ) {
    this.kind = inner?.kind ?? 'in-process';
  }

  circuitBreaker(
    name: string,
    settings: CircuitBreakerSettings,
    listener: BreakerEffectsListener,
  ): BreakerEngine {
    const observer = this.observer;
    const both: BreakerEffectsListener = (effects) => {
      listener(effects);
      observer(effects);
    };
    const engine =
      this.inner === undefined
        ? new LocalBreakerEngine(settings, both, (now) => createBreakerCell(settings, now))
        : this.inner.circuitBreaker(name, settings, both);
    this.engine = engine;
    return engine;
  }
}
