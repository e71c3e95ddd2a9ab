/**
 * `stats` and `status` as opossum documents them: the rolling window of `rollingCountBuckets`
 * slices over `rollingCountTimeout`, the sums, the latency mean and percentiles (or -1 when
 * `rollingPercentilesEnabled` is false), the `snapshot` event (`enableSnapshots`),
 * `rotateBucketController`, and `CircuitBreaker.newStatus` / the `status` option.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import CircuitBreaker, { type Stats, Status } from './index.js';
import { breaker, double, fireMany } from './opossum.test-support.js';
import { elapse, fakeClock, useFakeTime } from './time.test-support.js';

const PERCENTILE_KEYS = ['0', '0.25', '0.5', '0.75', '0.9', '0.95', '0.99', '0.995', '1'];

/** An action whose latency (on fake time) is its argument, in ms; negative: fails after -x ms. */
function sleeper() {
  return (ms: number) =>
    new Promise<number>((resolve, reject) =>
      setTimeout(() => (ms < 0 ? reject(new Error('down')) : resolve(ms)), Math.abs(ms)),
    );
}

describe('stats', () => {
  it('counts every kind of outcome', async () => {
    const b = breaker(double, { volumeThreshold: 100 }).fallback(() => 0);
    await fireMany(b, 3, 1);
    await fireMany(b, 2, -1);
    expect(b.stats).toMatchObject({
      fires: 5,
      successes: 3,
      failures: 2,
      fallbacks: 2,
      rejects: 0,
      timeouts: 0,
      cacheHits: 0,
      cacheMisses: 0,
      coalesceCacheHits: 0,
      coalesceCacheMisses: 0,
      semaphoreRejections: 0,
    });
    expect(b.status.stats).toEqual(b.stats);
  });

  it('latencyTimes (sorted), latencyMean and the nearest-rank percentiles', async () => {
    useFakeTime();
    const b = breaker(sleeper(), { clock: fakeClock, timeout: false, volumeThreshold: 100 });
    const latencies = [40, 10, 30, 20, 100, 50, 60, 70, 80, 90];
    for (const ms of latencies) {
      const call = b.fire(ms);
      await elapse(ms);
      await call;
    }
    const stats = b.stats;
    expect(stats.latencyTimes).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(stats.latencyMean).toBe(55);
    expect(Object.keys(stats.percentiles).sort()).toEqual([...PERCENTILE_KEYS].sort());
    expect(stats.percentiles).toMatchObject({
      0: 10,
      0.25: 30,
      0.5: 50,
      0.75: 80,
      0.9: 90,
      0.95: 100,
      1: 100,
    });
  });

  it('failures and timeouts have latencies too; with no call at all the mean is 0', async () => {
    useFakeTime();
    const b = breaker(sleeper(), { clock: fakeClock, timeout: 50, volumeThreshold: 100 });
    expect(b.stats.latencyMean).toBe(0);
    const failed = b.fire(-20).catch(() => {});
    await elapse(20);
    await failed;
    const timedOut = b.fire(1000).catch(() => {});
    await elapse(50);
    await timedOut;
    expect(b.stats.latencyTimes).toEqual([20, 50]);
  });

  it('rollingPercentilesEnabled false: mean and percentiles are -1, no latencies are kept', async () => {
    const b = breaker(double, { rollingPercentilesEnabled: false });
    await fireMany(b, 3, 1);
    const stats = b.stats;
    expect(stats.latencyMean).toBe(-1);
    for (const key of PERCENTILE_KEYS) expect(stats.percentiles[Number(key)]).toBe(-1);
    expect(stats.latencyTimes).toEqual([]);
    expect(b.status.rollingPercentilesEnabled).toBe(false);
  });
});

describe('the rolling window', () => {
  it('rollingCountBuckets slices of rollingCountTimeout / rollingCountBuckets ms, newest first', async () => {
    useFakeTime();
    const b = breaker(double, { rollingCountTimeout: 3000, rollingCountBuckets: 3, clock: fakeClock });
    expect(b.status.window).toHaveLength(3);
    await fireMany(b, 2, 1);
    await elapse(1000);
    await fireMany(b, 1, 1);
    expect(b.status.window.map((bucket) => bucket.fires)).toEqual([1, 2, 0]);
    await elapse(1000);
    expect(b.status.window.map((bucket) => bucket.fires)).toEqual([0, 1, 2]);
    await elapse(1000);
    expect(b.status.window.map((bucket) => bucket.fires)).toEqual([0, 0, 1]);
    expect(b.stats.fires).toBe(1);
  });

  it('a window slice carries its own latencies and the open/close marks', async () => {
    const b = breaker(double);
    await fireMany(b, 1, 1);
    b.open();
    const [current] = b.status.window;
    expect(current).toMatchObject({ fires: 1, successes: 1, isCircuitBreakerOpen: true });
    expect(current.latencyTimes).toHaveLength(1);
  });

  it('rotateBucketController: the slices rotate on its rotate events, not on a timer', async () => {
    useFakeTime();
    const rotator = new EventEmitter();
    const b = breaker(double, { rotateBucketController: rotator, rollingCountBuckets: 2, clock: fakeClock });
    await fireMany(b, 1, 1);
    await elapse(60_000);
    expect(b.status.window.map((bucket) => bucket.fires)).toEqual([1, 0]);
    rotator.emit('rotate');
    expect(b.status.window.map((bucket) => bucket.fires)).toEqual([0, 1]);
    b.disable(); // a disabled breaker stops following it
    rotator.emit('rotate');
    expect(b.status.window.map((bucket) => bucket.fires)).toEqual([0, 1]);
    b.enable();
    rotator.emit('rotate');
    expect(b.status.window.map((bucket) => bucket.fires)).toEqual([0, 0]);
    b.shutdown();
    expect(rotator.listenerCount('rotate')).toBe(0);
  });
});

describe('snapshot', () => {
  it('status emits snapshot with the stats at every slice', async () => {
    useFakeTime();
    const b = breaker(double, { rollingCountTimeout: 1000, rollingCountBuckets: 4, clock: fakeClock });
    const snapshots: Stats[] = [];
    b.status.on('snapshot', (s) => snapshots.push(s));
    await fireMany(b, 2, 1);
    await elapse(250);
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ fires: 2, successes: 2 });
    await elapse(750);
    expect(snapshots).toHaveLength(4);
  });

  it('enableSnapshots false: none', async () => {
    useFakeTime();
    const b = breaker(double, { enableSnapshots: false, clock: fakeClock });
    const snapshots: Stats[] = [];
    b.status.on('snapshot', (s) => snapshots.push(s));
    await elapse(30_000);
    expect(snapshots).toEqual([]);
    expect(b.status.enableSnapshots).toBe(false);
  });
});

describe('newStatus and the status option', () => {
  it('a breaker starts from the stats of a Status made by newStatus', async () => {
    const saved = breaker(double, { volumeThreshold: 100 });
    await fireMany(saved, 3, 1);
    await fireMany(saved, 2, -1);
    const status = CircuitBreaker.newStatus({ stats: saved.stats });
    expect(status).toBeInstanceOf(Status);
    const b = breaker(double, { status });
    expect(b.status).toBe(status);
    await fireMany(b, 1, 1);
    expect(b.stats).toMatchObject({ fires: 6, successes: 4, failures: 2 });
    expect(b.stats.latencyTimes).toHaveLength(6);
  });

  it('newStatus takes the rolling options; saved stats given as the status option work too', async () => {
    const status = CircuitBreaker.newStatus({ rollingCountBuckets: 4, rollingPercentilesEnabled: false });
    expect(status.window).toHaveLength(4);
    expect(status.stats.latencyMean).toBe(-1);
    status.shutdown();
    const b = breaker(double, { status: { fires: 7, failures: 1 } });
    expect(b.stats).toMatchObject({ fires: 7, failures: 1 });
  });
});
