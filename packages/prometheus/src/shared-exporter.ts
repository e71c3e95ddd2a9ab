import type { Unsubscribe } from '@breakwater/core';
import type { Registry } from 'prom-client';
import type { MetricsHandle } from './collect-metrics.js';

/** An exporter shared by every handle on one prom-client registry (which takes one metric per name). */
export interface SharedExporter {
  /** The handles using it; the last one to let go takes its metrics off the registry. */
  handles: number;
}

/** The exporter of `register` in `exporters`, made by `create` on first use; one more handle on it. */
export function acquireShared<E extends SharedExporter>(
  exporters: WeakMap<Registry, E>,
  register: Registry,
  create: () => E,
): E {
  let exporter = exporters.get(register);
  if (exporter === undefined) {
    exporter = create();
    exporters.set(register, exporter);
  }
  exporter.handles++;
  return exporter;
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
