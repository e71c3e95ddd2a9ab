/**
 * The benchmark harness: suites of cases, measured in one process, finely interleaved, reduced
 * to medians.
 *
 * A suite is a file `bench/<name>.bench.ts` whose default export is `defineSuite({...})`, and its
 * name is that `<name>`; `bench/index.ts` finds and runs every such file, so a new benchmark is a
 * new file.
 *
 * Measurement model (see `slice` for why it is not mitata's or tinybench's loop):
 * - a case is a function returning the promise of one call; it is awaited in a loop compiled for
 *   that case alone, in batches of about `sliceMs` (a slice), with the event loop turning between;
 * - a pass times one slice of every case of the suite, in a new (seeded) order each pass; the
 *   run is as many passes as make `timeMs` of measured time per case, so every case is sampled
 *   evenly over the whole run and changes of the machine's speed hit every case alike;
 * - a case's figure is the median of its slices (ns per call); a case with a `baseline` also gets
 *   an added overhead, the median over passes of (case - baseline) within the pass;
 * - the passes are cut into `blocks` consecutive blocks and each figure is also computed per block:
 *   the min..max over blocks is printed as the spread; a ratio is the median over blocks of the
 *   block's ratio, with its min..max over blocks.
 * The harness runs a full GC between blocks (node --expose-gc). Medians leave most collection
 * pauses out of the figures, so allocation-heavy cases are flattered a little.
 */
/** One call of the thing measured; the promise must not reject (catch inside if the call throws). */
export type Invoke = () => Promise<unknown>;

export interface BenchCase {
  /** Stable id, used by ratios and in the JSON line. */
  readonly id: string;
  /** What the table shows. */
  readonly label: string;
  /** Id of the case in the same suite whose cost is subtracted to give this case's added overhead. */
  readonly baseline?: string;
  /** Builds what is measured (a breaker, a client...) once per process. */
  readonly setup: () => Invoke | Promise<Invoke>;
}

/** A figure of a case: its added overhead over its baseline, or its raw ns per call. */
export type Quantity = { readonly overhead: string } | { readonly ns: string };

/**
 * `numerator / denominator`; with `max` it is a target that passes when the ratio <= max; with
 * `maxOver` the target is another ratio of the suite (measured in the same run) plus a margin.
 */
export interface RatioSpec {
  readonly id: string;
  readonly label: string;
  readonly numerator: Quantity;
  readonly denominator: Quantity;
  readonly max?: number;
  readonly maxOver?: { readonly ratio: string; readonly plus: number };
}

export interface CheckOutcome {
  readonly pass: boolean;
  readonly detail: string;
}

/** A functional check that runs once (not timed), e.g. that durations are accurate enough. */
export interface BenchCheck {
  readonly id: string;
  readonly label: string;
  readonly run: () => Promise<CheckOutcome>;
}

/** A suite as its file declares it; its name is the file's (`bench/<name>.bench.ts`). */
export interface BenchSuite {
  readonly description?: string;
  /** A reason to skip the whole suite (e.g. no Redis reachable), or undefined to run it. */
  readonly unavailable?: () => Promise<string | undefined>;
  readonly cases: readonly BenchCase[];
  readonly ratios?: readonly RatioSpec[];
  readonly checks?: readonly BenchCheck[];
  /** Runs after the timed passes: checks that the premise held (e.g. breakers stayed CLOSED). */
  readonly verify?: () => Promise<CheckOutcome[]>;
  readonly teardown?: () => void | Promise<void>;
}

/** Types a suite file's default export; `runSuite` checks it before it runs it. */
export function defineSuite(suite: BenchSuite): BenchSuite {
  return suite;
}

/** Throws if a case or a ratio of the suite names a case or a ratio it does not have. */
function checkSuite(name: string, suite: BenchSuite): void {
  const ids = new Set<string>();
  for (const c of suite.cases) {
    if (ids.has(c.id)) throw new Error(`bench suite '${name}': duplicate case id '${c.id}'`);
    ids.add(c.id);
  }
  for (const c of suite.cases) {
    if (c.baseline !== undefined && !ids.has(c.baseline)) {
      throw new Error(`bench suite '${name}': case '${c.id}' has unknown baseline '${c.baseline}'`);
    }
  }
  for (const r of suite.ratios ?? []) {
    if (r.maxOver !== undefined && !(suite.ratios ?? []).some((o) => o.id === r.maxOver?.ratio)) {
      throw new Error(`bench suite '${name}': ratio '${r.id}' is bounded by unknown '${r.maxOver.ratio}'`);
    }
    for (const q of [r.numerator, r.denominator]) {
      const id = 'overhead' in q ? q.overhead : q.ns;
      const c = suite.cases.find((x) => x.id === id);
      if (c === undefined) throw new Error(`bench suite '${name}': ratio '${r.id}' names '${id}'`);
      if ('overhead' in q && c.baseline === undefined) {
        throw new Error(
          `bench suite '${name}': ratio '${r.id}' wants the overhead of '${id}', which has no baseline`,
        );
      }
    }
  }
}

/** What a ratio's value must stay under: a fixed bound, or another ratio of the suite plus a margin. */
export type RatioTarget = number | { readonly ratio: string; readonly plus: number };

type RatioArgs = [id: string, label: string, numerator: string, denominator: string, target?: RatioTarget];

function ratioOf(
  of: 'overhead' | 'ns',
  ...[id, label, numerator, denominator, target]: RatioArgs
): RatioSpec {
  const quantity = (caseId: string): Quantity => (of === 'ns' ? { ns: caseId } : { overhead: caseId });
  const spec = { id, label, numerator: quantity(numerator), denominator: quantity(denominator) };
  if (target === undefined) return spec;
  return typeof target === 'number' ? { ...spec, max: target } : { ...spec, maxOver: target };
}

/** `numerator / denominator` of two cases' added overheads (each over its own baseline); a target if given. */
export const overheadRatio = (...args: RatioArgs): RatioSpec => ratioOf('overhead', ...args);

/** `numerator / denominator` of two cases' ns per call; a target if given. */
export const nsRatio = (...args: RatioArgs): RatioSpec => ratioOf('ns', ...args);

/** A case measured over the suite's case `bare` (the bare call of the same shape). */
export function overBare(id: string, label: string, setup: BenchCase['setup']): BenchCase {
  return { id, label, baseline: 'bare', setup };
}

/**
 * A suite's `verify` outcome: the premise held when nothing in `wrong` was found, and the detail is
 * then `held`; otherwise the detail lists what was wrong.
 */
export function premise(wrong: readonly string[], held: string): CheckOutcome[] {
  return [{ pass: wrong.length === 0, detail: wrong.length === 0 ? held : wrong.join('; ') }];
}

/**
 * A suite's `unavailable` for a suite that needs a server it starts itself: undefined once
 * `start` resolves, else `cannot` with the error.
 */
export function unavailableUnless(
  start: () => Promise<unknown>,
  cannot: string,
): () => Promise<string | undefined> {
  return async () => {
    try {
      await start();
      return undefined;
    } catch (error) {
      return `${cannot} (${String(error)})`;
    }
  };
}

export interface RunOptions {
  /** Measured time per case, ms, spread over the whole run in slices of about `sliceMs`. */
  readonly timeMs: number;
  /** Time of one slice (one batch of calls of one case), ms. */
  readonly sliceMs: number;
  /** The passes are cut into this many consecutive blocks; the spread of the block figures is reported. */
  readonly blocks: number;
  /** Untimed warm-up per case, ms. */
  readonly warmupMs: number;
  readonly log: (line: string) => void;
}

/** A figure over the whole run, with the range of the same figure over the blocks of the run. */
export interface Figure {
  readonly value: number;
  readonly min: number;
  readonly max: number;
  /** The figure of each block, in time order. */
  readonly blocks: readonly number[];
}

export interface CaseResult {
  readonly id: string;
  readonly label: string;
  readonly baseline: string | undefined;
  /** ns per call. */
  readonly ns: Figure;
  /** ns per call added over the baseline. */
  readonly overhead: Figure | undefined;
}

export interface RatioResult {
  readonly id: string;
  readonly label: string;
  readonly value: Figure;
  readonly max: number | undefined;
  readonly pass: boolean | undefined;
}

export interface CheckResult extends CheckOutcome {
  readonly id: string;
  readonly label: string;
}

export interface SuiteResult {
  readonly name: string;
  readonly description: string | undefined;
  readonly skipped: string | undefined;
  readonly cases: readonly CaseResult[];
  readonly ratios: readonly RatioResult[];
  readonly checks: readonly CheckResult[];
  readonly passes: number;
  readonly seconds: number;
}

export const hasExplicitGc = typeof globalThis.gc === 'function';
const collectGarbage: () => void = hasExplicitGc ? (globalThis.gc as () => void) : () => {};

export async function runSuite(name: string, suite: BenchSuite, opts: RunOptions): Promise<SuiteResult> {
  checkSuite(name, suite);
  const started = performance.now();
  const empty = { name, description: suite.description, cases: [], ratios: [], passes: 0 };
  const reason = await suite.unavailable?.();
  if (reason !== undefined) return { ...empty, skipped: reason, checks: [], seconds: 0 };

  try {
    const checks: CheckResult[] = [];
    for (const check of suite.checks ?? []) {
      checks.push({ id: check.id, label: check.label, ...(await check.run()) });
    }

    const timed: { readonly c: BenchCase; readonly t: Timed }[] = [];
    for (const c of suite.cases) timed.push({ c, t: prepare(await c.setup()) });

    // Warm-up: every case in turn, twice, so that the code they share has seen every shape (and
    // been optimized for it) before timing; this also sizes each case's batch to one slice.
    for (let k = 0; k < 2; k++) {
      for (const { t } of timed) {
        const until = performance.now() + opts.warmupMs / 2;
        while (performance.now() < until) await slice(t, opts.sliceMs);
      }
    }

    // Timed passes: one slice of every case per pass, in a new order each pass.
    const passes = Math.max(opts.blocks, Math.round(opts.timeMs / opts.sliceMs));
    const perPass = new Map<string, number[]>(suite.cases.map((c) => [c.id, []]));
    const blockEnds: number[] = [];
    for (let p = 0; p < passes; p++) {
      for (const { c, t } of shuffled(timed, p + 1)) perPass.get(c.id)!.push(await slice(t, opts.sliceMs));
      if (Math.floor(((p + 1) * opts.blocks) / passes) > blockEnds.length) {
        blockEnds.push(p + 1);
        collectGarbage();
        opts.log(`  ${name}: block ${blockEnds.length}/${opts.blocks} done`);
      }
    }
    const inBlocks = (xs: readonly number[]) =>
      blockEnds.map((end, b) => xs.slice(b === 0 ? 0 : blockEnds[b - 1], end));

    const cases: CaseResult[] = suite.cases.map((c) => {
      const ns = perPass.get(c.id)!;
      let overhead: Figure | undefined;
      if (c.baseline !== undefined) {
        const base = perPass.get(c.baseline)!;
        // Paired within each pass (a few ms apart), so that the machine's changes of speed cancel.
        const diffs = ns.map((v, p) => v - base[p]);
        overhead = figureOf(diffs, inBlocks(diffs), median);
      }
      return {
        id: c.id,
        label: c.label,
        baseline: c.baseline,
        ns: figureOf(ns, inBlocks(ns), median),
        overhead,
      };
    });

    const figureOfQuantity = (q: Quantity): Figure => {
      if ('ns' in q) return cases.find((c) => c.id === q.ns)!.ns;
      return cases.find((c) => c.id === q.overhead)!.overhead!;
    };
    const values = new Map<string, Figure>();
    for (const r of suite.ratios ?? []) {
      const num = figureOfQuantity(r.numerator);
      const den = figureOfQuantity(r.denominator);
      const blocks = num.blocks.map((v, b) => v / den.blocks[b]);
      // The median of the blocks' ratios: each block pairs figures taken over the same seconds.
      values.set(r.id, { value: median(blocks), min: Math.min(...blocks), max: Math.max(...blocks), blocks });
    }
    const ratios: RatioResult[] = (suite.ratios ?? []).map((r) => {
      const value = values.get(r.id) as Figure;
      const over = r.maxOver === undefined ? undefined : values.get(r.maxOver.ratio);
      const max = over === undefined || r.maxOver === undefined ? r.max : over.value + r.maxOver.plus;
      return {
        id: r.id,
        label: r.label,
        value,
        max,
        pass: max === undefined ? undefined : value.value <= max,
      };
    });

    // One id per check, so that a suite with several premises keeps each in BENCH_JSON.
    for (const [i, outcome] of ((await suite.verify?.()) ?? []).entries()) {
      checks.push({
        id: i === 0 ? 'premise' : `premise-${i + 1}`,
        label: 'premise of the timed cases',
        ...outcome,
      });
    }
    return {
      ...empty,
      cases,
      ratios,
      checks,
      passes,
      skipped: undefined,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await suite.teardown?.();
  }
}

/** A case ready to be timed: its own compiled loop (so that its call site stays monomorphic) and batch size. */
interface Timed {
  readonly loop: (invoke: Invoke, calls: number) => Promise<void>;
  readonly invoke: Invoke;
  batch: number;
}

// One loop per case, compiled from source as mitata does: closures of one function literal share
// their type feedback, which would make every case's call site megamorphic.
const LOOP_SOURCE =
  'return async function timedLoop(invoke, calls) { for (let i = 0; i < calls; i++) await invoke(); };';

function prepare(invoke: Invoke): Timed {
  const loop = new Function(LOOP_SOURCE)() as Timed['loop'];
  return { loop, invoke, batch: 16 };
}

/** Lets the event loop turn (timers, Node's rejection bookkeeping) outside the timed region. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One slice: ns per call over one batch of calls lasting about `sliceMs`, after letting the
 * event loop turn. The batch size follows the measured speed.
 *
 * Why this loop and not mitata's or tinybench's: both time many samples of one case in a row
 * inside one macrotask. On this (virtual, shared) machine the speed of the CPU drifts by tens of
 * percent over seconds, so cases must be interleaved finely to be compared; and Node keeps a list
 * of rejected promises that it clears only when the event loop turns, so a loop of failing
 * calls that never yields grows that list (and the heap) and its figures drift by 2x.
 */
async function slice(t: Timed, sliceMs: number): Promise<number> {
  await turn();
  const t0 = process.hrtime.bigint();
  await t.loop(t.invoke, t.batch);
  const ns = Number(process.hrtime.bigint() - t0);
  const perCall = ns / t.batch;
  t.batch = Math.max(8, Math.min(1 << 20, Math.round((sliceMs * 1e6) / perCall)));
  return perCall;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function figureOf(
  all: readonly number[],
  blocks: readonly (readonly number[])[],
  stat: (xs: readonly number[]) => number,
): Figure {
  const perBlock = blocks.map(stat);
  return { value: stat(all), min: Math.min(...perBlock), max: Math.max(...perBlock), blocks: perBlock };
}

/** A copy of `items` in an order drawn from `seed` (Fisher-Yates over a small PRNG, mulberry32). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
