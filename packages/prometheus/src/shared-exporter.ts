import type { Unsubscribe } from '@breakwater/core';
import type { Registry } from 'prom-client';
import type { MetricsHandle } from './collect-metrics.js';

/**
 * The metrics of one kind on one prom-client registry (which takes one metric per name), shared by
 * every handle on that registry: made by the first handle, taken off the registry by the last.
 */
export abstract class SharedExporter {
  /** `[register]`, as prom-client's metric constructors take it. */
  protected readonly registers: Registry[];
  private handles = 0;
  private forget: () => void = () => {};

  protected constructor(
    protected readonly register: Registry,
    private readonly metricNames: readonly string[],
  ) {
    this.registers = [register];
  }

  /**
   * The `acquire(register, options)` of an exporter class: the exporter of `register`, made by
   * `create` on first use; one more handle on it.
   */
  protected static perRegistry<E extends SharedExporter, O>(
    create: (register: Registry, options: O) => E,
  ): (register: Registry, options: O) => E {
    const exporters = new WeakMap<Registry, E>();
    return (register, options) => {
      let exporter = exporters.get(register);
      if (exporter === undefined) {
        exporter = create(register, options);
        exporter.forget = () => exporters.delete(register);
        exporters.set(register, exporter);
      }
      exporter.handles++;
      return exporter;
    };
  }

  /** One handle is done; the last one stops following its sources and takes the metrics off the registry. */
  release(): void {
    if (--this.handles > 0) return;
    this.stopFollowing();
    for (const name of this.metricNames) this.register.removeSingleMetric(name);
    this.forget();
  }

  /** Lets go of every source still followed (the last handle is gone). */
  protected stopFollowing(): void {}
}

/** A handle whose first `close()` stops `stops` and then lets go with `release`; later ones do nothing. */
export function metricsHandle(
  register: Registry,
  stops: readonly Unsubscribe[],
  release: () => void,
): MetricsHandle {
  let closed = false;
  return {
    register,
    close() {
      if (closed) return;
      closed = true;
      for (const stop of stops) stop();
      release();
    },
  };
}
