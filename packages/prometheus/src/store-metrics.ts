import type { Unsubscribe } from '@breakwater/core';
import { Counter, register as defaultRegister, Gauge, Histogram, type Registry } from 'prom-client';
import type { MetricsHandle } from './collect-metrics.js';
import { DEFAULT_STORE_BUCKETS, METRIC_NAMES } from './names.js';
import { metricsHandle, SharedExporter } from './shared-exporter.js';

/** One round trip of a store to its backend, as `RedisStore.onOperation` reports it. */
export interface StoreOperationEvent {
  /** What was run, e.g. the script `breakwaterBreaker`. */
  readonly operation: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly error?: unknown;
}

/**
 * What `collectStoreMetrics` can observe of a store; every part is optional. `RedisStore` has
 * them all; a store without them reports nothing for the parts it lacks.
 */
export interface ObservableStore {
  /** Every round trip to the backend, timed. */
  onOperation?(listener: (operation: StoreOperationEvent) => void): Unsubscribe;
  /**
   * The store's own events: `STATE_RESET` (a key held garbage) and `POLICY_FAILURE` count as
   * errors; `OUTCOMES_DROPPED` (`count`, `reason`) as outcomes that never reached the shared state.
   */
  onEvent?(
    listener: (event: { readonly type: string; readonly count?: number; readonly reason?: string }) => void,
  ): Unsubscribe;
  /** The state of the breaker guarding the backend: `'CLOSED'`, `'HALF_OPEN'` or `'OPEN'`. */
  guardState?(): string | Promise<string>;
}

export interface CollectStoreMetricsOptions {
  /** The prom-client registry. Default: prom-client's global `register`. */
  readonly register?: Registry;
  /** Buckets of `breakwater_store_operation_duration_seconds`, in seconds. The first call on a registry decides. */
  readonly buckets?: readonly number[];
}

/**
 * Values of the `type` label of `breakwater_store_errors_total`:
 * - `timeout`: the backend did not answer within the command timeout;
 * - `connection`: the connection was down, so the operation failed at once;
 * - `guard_open`: the guard breaker refused to try (the backend failed repeatedly just before);
 * - `reply`: the backend answered with an error (e.g. OOM, a script error);
 * - `state_reset`: a policy's key held garbage and the policy started afresh;
 * - `policy`: the backend refused one policy's request with an error of its own (the store stayed
 *   healthy for the others);
 * - `other`: anything else.
 */
export type StoreErrorType =
  | 'timeout'
  | 'connection'
  | 'guard_open'
  | 'reply'
  | 'state_reset'
  | 'policy'
  | 'other';

const STORE_METRIC_NAMES = [
  METRIC_NAMES.storeOperationDuration,
  METRIC_NAMES.storeErrors,
  METRIC_NAMES.storeGuardState,
  METRIC_NAMES.storeOutcomesDropped,
];

const GUARD_VALUES: Readonly<Record<string, number>> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2, FORCED_OPEN: 2 };

/** The store metrics of one prom-client registry, shared by every `collectStoreMetrics` call on it. */
class StoreMetrics extends SharedExporter {
  static readonly acquire = SharedExporter.perRegistry(
    (register, buckets: readonly number[] | undefined) => new StoreMetrics(register, buckets),
  );

  /** Stores followed, with how many handles follow each. */
  readonly stores = new Map<ObservableStore, number>();
  readonly duration: Histogram<'operation'>;
  readonly errors: Counter<'type'>;
  readonly dropped: Counter<'reason'>;

  private constructor(register: Registry, buckets: readonly number[] = DEFAULT_STORE_BUCKETS) {
    super(register, STORE_METRIC_NAMES);
    const registers = this.registers;
    const stores = this.stores;
    this.duration = new Histogram({
      name: METRIC_NAMES.storeOperationDuration,
      help: 'Duration of the store round trips that reached the backend (this process)',
      labelNames: ['operation'] as const,
      buckets: [...buckets],
      registers,
    });
    this.errors = new Counter({
      name: METRIC_NAMES.storeErrors,
      help: 'Store operations that failed, by cause (this process)',
      labelNames: ['type'] as const,
      registers,
    });
    this.dropped = new Counter({
      name: METRIC_NAMES.storeOutcomesDropped,
      help: 'Outcomes callers observed that never reached the shared state, by reason (this process)',
      labelNames: ['reason'] as const,
      registers,
    });
    new Gauge({
      name: METRIC_NAMES.storeGuardState,
      help: 'The guard of the store backend: 0 closed, 2 open (the worst of this process’s stores)',
      registers,
      async collect() {
        const states = await Promise.all(
          [...stores.keys()].map(async (s) => {
            if (s.guardState === undefined) return undefined;
            try {
              return GUARD_VALUES[await s.guardState()] ?? 0;
            } catch {
              return undefined;
            }
          }),
        );
        const known = states.filter((v): v is number => v !== undefined);
        if (known.length === 0) this.reset();
        else this.set(Math.max(...known));
      },
    });
    for (const type of ['timeout', 'connection', 'guard_open', 'reply', 'state_reset', 'policy'] as const) {
      this.errors.inc({ type }, 0);
    }
    for (const reason of ['unknown', 'rejected', 'overflow', 'allow', 'no-shared-window', 'closed']) {
      this.dropped.inc({ reason }, 0);
    }
  }
}

/**
 * Reports a store's own health: the latency of its round trips
 * (`breakwater_store_operation_duration_seconds{operation}`), its errors by cause
 * (`breakwater_store_errors_total{type}`), the outcomes it could not deliver
 * (`breakwater_store_outcomes_dropped_total{reason}`) and its guard (`breakwater_store_guard_state`:
 * 0 closed, 2 open). Timing costs nothing until this is called (the store times its
 * round trips only while someone listens).
 */
export function collectStoreMetrics(
  store: ObservableStore,
  options: CollectStoreMetricsOptions = {},
): MetricsHandle {
  if (typeof store !== 'object' || store === null) {
    throw new TypeError('collectStoreMetrics: store must be a store object (e.g. a RedisStore)');
  }
  const register = options.register ?? defaultRegister;
  const exporter = StoreMetrics.acquire(register, options.buckets);
  const { duration, errors, dropped } = exporter;
  const stops: Unsubscribe[] = [];
  const labels = new Map<string, { readonly operation: string }>();
  if (typeof store.onOperation === 'function') {
    stops.push(
      store.onOperation((op) => {
        const type = op.ok ? undefined : errorTypeOf(op.error);
        if (type !== undefined) errors.inc({ type });
        // Operations refused before reaching the backend say nothing about its latency.
        if (type === 'guard_open' || type === 'connection') return;
        let l = labels.get(op.operation);
        if (l === undefined) {
          l = { operation: op.operation };
          labels.set(op.operation, l);
        }
        duration.observe(l, op.durationMs / 1000);
      }),
    );
  }
  if (typeof store.onEvent === 'function') {
    stops.push(
      store.onEvent((event) => {
        if (event.type === 'STATE_RESET') errors.inc({ type: 'state_reset' });
        else if (event.type === 'POLICY_FAILURE') errors.inc({ type: 'policy' });
        else if (event.type === 'OUTCOMES_DROPPED' && typeof event.count === 'number') {
          dropped.inc({ reason: String(event.reason) }, event.count);
        }
      }),
    );
  }
  exporter.stores.set(store, (exporter.stores.get(store) ?? 0) + 1);
  return metricsHandle(register, stops, () => {
    const refs = (exporter.stores.get(store) ?? 1) - 1;
    if (refs > 0) exporter.stores.set(store, refs);
    else exporter.stores.delete(store);
    exporter.release();
  });
}

/** Sorts a failed operation's error into a `type` label value. */
export function errorTypeOf(error: unknown): StoreErrorType {
  const e = error as
    | { name?: unknown; message?: unknown; cause?: unknown; reason?: unknown }
    | null
    | undefined;
  // A store error that says why (RedisStore's StoreUnavailableError.reason).
  if (
    e?.reason === 'timeout' ||
    e?.reason === 'connection' ||
    e?.reason === 'guard_open' ||
    e?.reason === 'reply'
  ) {
    return e.reason;
  }
  if (e?.name === 'CallNotPermittedError') return 'guard_open';
  const cause = e?.cause as { name?: unknown } | undefined;
  if (cause?.name === 'ReplyError' || e?.name === 'ReplyError') return 'reply';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (/did not answer within|timed? ?out/i.test(message)) return 'timeout';
  if (/connection|closed|ECONNREFUSED|ECONNRESET|EPIPE|Stream isn't writeable/i.test(message))
    return 'connection';
  return 'other';
}
