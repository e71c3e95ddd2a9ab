/** A simulated payments API whose health follows a script: healthy, an outage, then recovery. */
export interface Phase {
  /** Seconds from the start at which this phase begins. */
  readonly from: number;
  readonly label: string;
  /** Probability that a call fails. */
  readonly failureRate: number;
  /** Typical latency in ms. */
  readonly latencyMs: number;
}

export class DownstreamError extends Error {
  override name = 'DownstreamError';
}

/** A seeded generator, so that every run of the demo tells the same story. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export class FlakyDownstream {
  calls = 0;
  private readonly random: () => number;

  constructor(
    private readonly phases: readonly Phase[],
    private readonly startedAt: number,
    seed = 7,
  ) {
    this.random = seededRandom(seed);
  }

  phaseAt(now: number): Phase {
    const t = (now - this.startedAt) / 1000;
    let current = this.phases[0];
    for (const p of this.phases) if (t >= p.from) current = p;
    return current;
  }

  /** One call: resolves after the phase's latency, or rejects with DownstreamError. */
  async charge(signal?: AbortSignal): Promise<string> {
    this.calls++;
    const phase = this.phaseAt(Date.now());
    const latency = phase.latencyMs * (0.5 + this.random());
    const fails = this.random() < phase.failureRate;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, latency);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
    if (fails) throw new DownstreamError(`payments API: 503 during ${phase.label}`);
    return 'charged';
  }
}
