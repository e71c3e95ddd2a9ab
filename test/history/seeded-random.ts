/**
 * A small seeded generator (mulberry32): the fleet's plan, each worker's operations and the fault
 * schedule all derive from one seed, so a failing run can be replayed with `HISTORY_SEED`. (The
 * interleavings on a real machine still differ from run to run; the seed fixes what is asked.)
 */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** An independent generator for a part of the run (a worker, a lane), fixed by this seed and `label`. */
  fork(label: number): SeededRandom {
    return new SeededRandom(Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(label + 1, 0xc2b2ae35));
  }
}

/** A fresh seed for a run nobody asked to replay. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
