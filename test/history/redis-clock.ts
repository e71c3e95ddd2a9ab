/**
 * Times on Redis's clock. Each process calibrates the offset between its monotonic clock
 * (`performance.timeOrigin + performance.now()`, sub-millisecond) and Redis `TIME` once before the
 * run and once after: of several round trips it keeps the shortest, whose midpoint is off by at
 * most half of it. The history's tolerance covers that half, the drift between the two
 * calibrations, and Redis's scripts truncating `TIME` to whole milliseconds.
 *
 * (All processes run on one machine, so the offset is close to zero; calibrating rather than
 * assuming it keeps the bound honest, and `TIME` is what the scripts decide by.)
 */
export interface Calibration {
  /** Add to the monotonic clock to get Redis time (ms). */
  readonly offsetMs: number;
  /** Half the shortest round trip, plus TIME's microsecond resolution (ms). */
  readonly uncertaintyMs: number;
}

export const monotonicNow = (): number => performance.timeOrigin + performance.now();

/** Calibrates against `time()`, which sends Redis `TIME` and resolves with its reply. */
export async function calibrate(
  time: () => Promise<readonly [string, string]>,
  samples = 12,
): Promise<Calibration> {
  let best: Calibration | undefined;
  for (let i = 0; i < samples; i++) {
    const before = monotonicNow();
    const [seconds, micros] = await time();
    const after = monotonicNow();
    const redis = Number(seconds) * 1000 + Number(micros) / 1000;
    const candidate = { offsetMs: redis - (before + after) / 2, uncertaintyMs: (after - before) / 2 + 0.001 };
    if (best === undefined || candidate.uncertaintyMs < best.uncertaintyMs) best = candidate;
  }
  if (best === undefined) throw new Error('calibrate: no sample');
  return best;
}

/** The error bound of times taken with `start`'s offset, given a second calibration `end` after the run. */
export function clockError(start: Calibration, end: Calibration): number {
  return Math.max(start.uncertaintyMs, end.uncertaintyMs) + Math.abs(end.offsetMs - start.offsetMs);
}
