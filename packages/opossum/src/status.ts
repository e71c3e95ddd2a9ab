import { EventEmitter } from 'node:events';

/** The counts of one slice of the rolling window (opossum's bucket). */
export interface Bucket {
  failures: number;
  fallbacks: number;
  successes: number;
  rejects: number;
  fires: number;
  timeouts: number;
  cacheHits: number;
  cacheMisses: number;
  coalesceCacheHits: number;
  coalesceCacheMisses: number;
  semaphoreRejections: number;
  percentiles: { [percentile: number]: number };
  /** Durations (ms) of the calls that ended in this slice, when percentiles are enabled. */
  latencyTimes: number[];
  /** Set when the breaker opened (true) or closed (false) during this slice. */
  isCircuitBreakerOpen?: boolean;
}

/** The buckets, newest first. */
export type Window = Bucket[];

/** The sums over the window, with the latency mean and percentiles (-1 when percentiles are disabled). */
export interface Stats extends Bucket {
  latencyMean: number;
}

/** What `CircuitBreaker.newStatus` takes; the rolling options default as the breaker's do. */
export interface StatusOptions {
  /** Duration of the window (ms). Default 10000. */
  rollingCountTimeout?: number | undefined;
  /** Slices the window is cut into. Default 10. */
  rollingCountBuckets?: number | undefined;
  /** Keep call durations for `latencyMean` and `percentiles`. Default true. */
  rollingPercentilesEnabled?: boolean | undefined;
  /** Emit `snapshot` with the stats at every slice. Default true. */
  enableSnapshots?: boolean | undefined;
  /** Rotate the slices on this emitter's `rotate` events instead of a timer per breaker. */
  rotateBucketController?: EventEmitter | undefined;
  /** Counts to start from (they fill the newest slice), e.g. the `stats` of a breaker saved earlier. */
  stats?: Partial<Stats> | undefined;
}

const COUNTERS = [
  'failures',
  'fallbacks',
  'successes',
  'rejects',
  'fires',
  'timeouts',
  'cacheHits',
  'cacheMisses',
  'coalesceCacheHits',
  'coalesceCacheMisses',
  'semaphoreRejections',
] as const;

/** The percentiles opossum reports. */
const PERCENTILES = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 1] as const;

const ROTATE = 'rotate';

/** The counts of one slice, by kind of outcome: the numbers of a Bucket. */
export type Counts = Record<(typeof COUNTERS)[number], number>;

/** Every count at 0: COUNTERS is the one list of them. */
function zeroCounts(): Counts {
  const counts = {} as Counts;
  for (const key of COUNTERS) counts[key] = 0;
  return counts;
}

export function emptyBucket(): Bucket {
  return { ...zeroCounts(), percentiles: {}, latencyTimes: [] };
}

/** Latencies of at least this many ms (or not whole, or negative) are kept in a Map. */
const MAX_DENSE_MS = 65_536;
const NO_COUNTS = new Uint32Array(0);

/**
 * The latencies of one slice as counts per whole millisecond: recording one is an increment, and
 * memory does not grow with the number of calls (opossum keeps a list of every call's latency).
 * The list that `stats` and `window` report is rebuilt from the counts when read.
 */
export class LatencyCounts {
  /** counts[ms]: calls that took `ms`; grown to the largest latency seen. */
  private counts: Uint32Array = NO_COUNTS;
  private others: Map<number, number> | undefined;
  size = 0;

  add(ms: number): void {
    this.size++;
    if (ms < this.counts.length && ms >= 0 && (ms | 0) === ms) {
      this.counts[ms]++;
      return;
    }
    this.addRare(ms);
  }

  private addRare(ms: number): void {
    if (ms >= 0 && ms < MAX_DENSE_MS && (ms | 0) === ms) {
      let length = Math.max(16, this.counts.length);
      while (length <= ms) length *= 2;
      const grown = new Uint32Array(length);
      grown.set(this.counts);
      this.counts = grown;
      this.counts[ms]++;
      return;
    }
    this.others ??= new Map();
    this.others.set(ms, (this.others.get(ms) ?? 0) + 1);
  }

  /** Appends every latency to `out` (whole ms in ascending order first, then the others). */
  appendTo(out: number[]): void {
    const counts = this.counts;
    for (let ms = 0; ms < counts.length; ms++) {
      for (let n = counts[ms]; n > 0; n--) out.push(ms);
    }
    if (this.others !== undefined) {
      for (const [ms, n] of this.others) for (let i = 0; i < n; i++) out.push(ms);
    }
  }
}

/** One slice of the window as the breaker counts into it. */
export class Slice {
  /** What the breaker counts as calls end (`slice.counts.fires++`). */
  readonly counts: Counts = zeroCounts();
  readonly latencies = new LatencyCounts();
  isCircuitBreakerOpen: boolean | undefined;

  /** The slice as opossum shows it. */
  toBucket(withLatencies: boolean): Bucket {
    const bucket: Bucket = { ...this.counts, percentiles: {}, latencyTimes: [] };
    if (withLatencies) this.latencies.appendTo(bucket.latencyTimes);
    if (this.isCircuitBreakerOpen !== undefined) bucket.isCircuitBreakerOpen = this.isCircuitBreakerOpen;
    return bucket;
  }
}

/**
 * A breaker's rolling statistics, as opossum reports them: `rollingCountBuckets` slices of
 * `rollingCountTimeout / rollingCountBuckets` ms each, the newest first, rotated by a timer (or by
 * the `rotate` events of `rotateBucketController`), and a `snapshot` event per slice.
 *
 * These are reporting figures, kept per process. The breaker's decisions come from Breakwater's
 * window (see the package README); the two count the same calls but are not the same numbers.
 * Sums and percentiles are computed when read, never on the call path.
 */
export class Status extends EventEmitter {
  readonly rollingPercentilesEnabled: boolean;
  readonly enableSnapshots: boolean;
  readonly rotateBucketController: EventEmitter | undefined;
  /** The newest slice first. */
  private readonly slices: Slice[];
  private rotateTimer: ReturnType<typeof setInterval> | undefined;
  private snapshotTimer: ReturnType<typeof setInterval> | undefined;
  private listening = false;
  private stopped = false;

  constructor(options: StatusOptions = {}) {
    super();
    const bucketCount = positiveInteger(options.rollingCountBuckets, 10);
    const duration = positiveNumber(options.rollingCountTimeout, 10_000);
    this.rollingPercentilesEnabled = options.rollingPercentilesEnabled !== false;
    this.enableSnapshots = options.enableSnapshots !== false;
    this.rotateBucketController = options.rotateBucketController;
    this.slices = Array.from({ length: bucketCount }, () => new Slice());
    if (options.stats !== undefined) prime(this.slices[0], options.stats);

    // Background timers: unref'd, they never keep the process alive.
    const interval = Math.max(1, Math.floor(duration / bucketCount));
    if (this.rotateBucketController !== undefined) {
      this.listenForRotation();
    } else {
      this.rotateTimer = setInterval(this.rotate, interval);
      this.rotateTimer.unref();
    }
    if (this.enableSnapshots) {
      this.snapshotTimer = setInterval(this.snapshot, interval);
      this.snapshotTimer.unref();
    }
  }

  /**
   * The newest slice, where calls are counted now (the breaker's, not part of opossum's API).
   * @internal
   */
  get current(): Slice {
    return this.slices[0];
  }

  /** The sums over the window, with the latency mean and percentiles. */
  get stats(): Stats {
    const totals: Stats = { ...emptyBucket(), latencyMean: 0 };
    const latencies: number[] = [];
    for (const slice of this.slices) {
      for (const key of COUNTERS) totals[key] += slice.counts[key];
      if (this.rollingPercentilesEnabled) slice.latencies.appendTo(latencies);
    }
    if (!this.rollingPercentilesEnabled) {
      totals.latencyMean = -1;
      for (const p of PERCENTILES) totals.percentiles[p] = -1;
      return totals;
    }
    latencies.sort((a, b) => a - b);
    let sum = 0;
    for (const ms of latencies) sum += ms;
    totals.latencyMean = latencies.length === 0 ? 0 : sum / latencies.length;
    for (const p of PERCENTILES) totals.percentiles[p] = nearestRank(latencies, p);
    totals.latencyTimes = latencies;
    return totals;
  }

  /** The slices, newest first, as they stand now (each a copy). */
  get window(): Window {
    return this.slices.map((slice) => slice.toBucket(this.rollingPercentilesEnabled));
  }

  /** Drops the oldest slice and starts a new one. */
  readonly rotate = (): void => {
    this.slices.pop();
    this.slices.unshift(new Slice());
  };

  private readonly snapshot = (): void => {
    // Summing and sorting costs: only for someone who listens.
    if (this.listenerCount('snapshot') > 0) this.emit('snapshot', this.stats);
  };

  /** Records that the breaker opened (true) or closed (false) in the current slice. */
  markOpen(open: boolean): void {
    this.slices[0].isCircuitBreakerOpen = open;
  }

  /** Follows `rotateBucketController` again (after `stopListeningForRotation`). */
  listenForRotation(): void {
    const controller = this.rotateBucketController;
    if (controller === undefined || this.listening || this.stopped) return;
    controller.on(ROTATE, this.rotate);
    this.listening = true;
  }

  /** Stops following `rotateBucketController` (a disabled breaker does). */
  stopListeningForRotation(): void {
    if (!this.listening) return;
    this.rotateBucketController?.removeListener(ROTATE, this.rotate);
    this.listening = false;
  }

  /** Stops the timers and listeners; the figures stay readable. */
  shutdown(): void {
    this.stopListeningForRotation();
    this.stopped = true;
    if (this.rotateTimer !== undefined) clearInterval(this.rotateTimer);
    if (this.snapshotTimer !== undefined) clearInterval(this.snapshotTimer);
    this.rotateTimer = undefined;
    this.snapshotTimer = undefined;
    this.removeAllListeners();
  }

  override on(event: 'snapshot', listener: (snapshot: Stats) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }
}

/** The nearest-rank percentile of sorted values: the smallest value with at least p of them at or below it. */
function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  if (p === 0) return sorted[0];
  return sorted[Math.ceil(p * sorted.length) - 1] ?? 0;
}

function prime(slice: Slice, stats: Partial<Stats>): void {
  for (const key of COUNTERS) {
    const v = stats[key];
    if (typeof v === 'number' && Number.isFinite(v)) slice.counts[key] = v;
  }
  if (Array.isArray(stats.latencyTimes)) {
    for (const ms of stats.latencyTimes)
      if (typeof ms === 'number' && Number.isFinite(ms)) slice.latencies.add(ms);
  }
}

function positiveInteger(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

function positiveNumber(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
