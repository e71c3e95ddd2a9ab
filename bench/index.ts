/**
 * `pnpm bench`: runs every `bench/*.bench.ts` suite, each in a fresh Node process of its own, and
 * prints the figures, the ratios with PASS/FAIL per target, and a final `BENCH_JSON {...}` line.
 * Exits 0 whatever the targets say (the figures are for the record; CI does not gate on them).
 *
 * Why a process per suite: V8's type feedback is per process. Suites run one after the other in one
 * process left the code they share (the in-process engine, the stores) optimized for the shapes an
 * earlier suite fed it, megamorphic where a suite alone would see one shape, so a suite's figures
 * depended on which suites ran before it (the opossum ratio went from 0.45x alone to 0.53x after
 * `chain` and `memory-store`). Each suite now starts from a clean JIT, as it does with `--only`.
 * This process spawns `node --expose-gc --import tsx bench/index.ts --suite <name> --json` per
 * suite, with the options below resolved, and prints the results as they come back.
 *
 * Options (after `pnpm bench --`):
 *   --only <name>[,<name>]   run only these suites (file name without `.bench.ts`)
 *   --time <ms>              measured time per case (default 1200)
 *   --slice <ms>             length of one timed batch (default 2)
 *   --blocks <n>             blocks the run is cut into for the spread (default 7)
 *   --quick                  --time 200 --blocks 3: a smoke run, figures not for the record
 *   --suite <name>           run that one suite in this process, not in a child (e.g. to profile it)
 *   --json                   with --suite: print only its result, one `BENCH_SUITE {...}` line (what
 *                            the parent reads)
 *
 * To add a benchmark, add `bench/<name>.bench.ts` with `export default defineSuite({...})`
 * (see harness.ts and breaker.bench.ts). Cases that compare should name a `baseline` of the same
 * shape, and targets are ratios of added overheads.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchSuite, hasExplicitGc, type RunOptions, runSuite, type SuiteResult } from './harness.js';
import { benchJson, printSuite, printSummary } from './report.js';

const print = (line: string) => process.stdout.write(`${line}\n`);
const log = (line: string) => process.stderr.write(`${line}\n`);

const DIR = dirname(fileURLToPath(import.meta.url));
/** How a child's stdout line carrying its SuiteResult starts. */
const RESULT = 'BENCH_SUITE ';

interface Args {
  readonly only: string[] | undefined;
  /** Run this one suite in this process. */
  readonly suite: string | undefined;
  /** With `suite`: print its result as one JSON line, nothing else on stdout. */
  readonly json: boolean;
  readonly opts: RunOptions;
}

function parseArgs(argv: readonly string[]): Args {
  let only: string[] | undefined;
  let suite: string | undefined;
  let json = false;
  let timeMs = 1200;
  let sliceMs = 2;
  let blocks = 7;
  const positive = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`bench: ${flag} needs a positive number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    if (a === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--suite') suite = argv[++i] ?? '';
    else if (a === '--json') json = true;
    else if (a === '--time') timeMs = positive(a, argv[++i]);
    else if (a === '--slice') sliceMs = positive(a, argv[++i]);
    else if (a === '--blocks') blocks = Math.round(positive(a, argv[++i]));
    else if (a === '--quick') {
      timeMs = 200;
      blocks = 3;
    } else throw new Error(`bench: unknown option ${a}`);
  }
  if (json && suite === undefined) throw new Error('bench: --json goes with --suite <name>');
  if (suite !== undefined && only !== undefined)
    throw new Error('bench: --suite and --only do not go together');
  return { only, suite, json, opts: { timeMs, sliceMs, blocks, warmupMs: Math.min(200, timeMs), log } };
}

/** The names of the suites to run (file names without `.bench.ts`), in file-name order. */
async function suiteNames(only: readonly string[] | undefined): Promise<string[]> {
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.bench.ts')).sort();
  const names = files.map((f) => basename(f, '.bench.ts'));
  for (const name of only ?? []) {
    if (!names.includes(name)) throw new Error(`bench: no suite '${name}' (have: ${names.join(', ')})`);
  }
  return names.filter((name) => only === undefined || only.includes(name));
}

async function loadSuite(name: string): Promise<BenchSuite> {
  const file = `${name}.bench.ts`;
  const mod = (await import(pathToFileURL(join(DIR, file)).href)) as { default?: BenchSuite };
  if (mod.default === undefined) throw new Error(`bench: ${file} has no default export (defineSuite)`);
  return mod.default;
}

/** Runs one suite in this process. */
async function runHere(name: string, opts: RunOptions): Promise<SuiteResult> {
  if (!hasExplicitGc) log('bench: warning: run with node --expose-gc, or GC between cases is skipped');
  return runSuite(name, await loadSuite(name), opts);
}

/**
 * Runs one suite in a fresh Node process (`--suite <name> --json`) and reads its result back. The
 * child's progress and errors go straight to our stderr; any other line it prints on stdout is
 * passed on to ours.
 */
async function runInChild(name: string, opts: RunOptions): Promise<SuiteResult> {
  const args = [
    '--expose-gc',
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--suite',
    name,
    '--json',
    ...['--time', String(opts.timeMs), '--slice', String(opts.sliceMs), '--blocks', String(opts.blocks)],
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
  });
  const exit = await new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(signal ?? String(code)));
  });
  let result: SuiteResult | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith(RESULT)) result = decodeResult(line.slice(RESULT.length));
    else if (line !== '') print(line);
  }
  if (exit !== '0' || result === undefined) {
    throw new Error(`bench: suite '${name}' failed in its process (exit ${exit}); its error is above`);
  }
  return result;
}

/** JSON of a SuiteResult, with the numbers JSON has no words for (NaN, Infinity) kept. */
function encodeResult(result: SuiteResult): string {
  return JSON.stringify(result, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? { nonFinite: String(value) } : value,
  );
}

function decodeResult(text: string): SuiteResult {
  return JSON.parse(text, (_key, value: unknown) =>
    typeof value === 'object' && value !== null && 'nonFinite' in value ? Number(value.nonFinite) : value,
  ) as SuiteResult;
}

/** What a child prints: its result on one line, flushed before the process exits. */
function writeResult(result: SuiteResult): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(`${RESULT}${encodeResult(result)}\n`, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
}

async function main(): Promise<void> {
  const { only, suite, json, opts } = parseArgs(process.argv.slice(2));
  const names = await suiteNames(suite === undefined ? only : [suite]);
  if (json && suite !== undefined) {
    await writeResult(await runHere(suite, opts));
    return;
  }
  print(
    `bench: node ${process.version}, ${names.length} suite(s): ${names.join(', ')}; figures are medians, targets are ratios of added overheads (case - bare call of the same shape)`,
  );
  print(`bench: peers measured: ${peerVersions()}`);
  const results: SuiteResult[] = [];
  for (const name of names) {
    const result = suite === undefined ? await runInChild(name, opts) : await runHere(name, opts);
    results.push(result);
    printSuite(result, opts, print);
  }
  printSummary(results, print);
  print(benchJson(results, opts));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // Our own errors (a bad option, a bad suite) need no stack.
    const own = error instanceof Error && error.message.startsWith('bench');
    process.stderr.write(`${own ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);

/** The installed version of each peer the suites measure against (the current majors). */
function peerVersions(): string {
  const require = createRequire(import.meta.url);
  return ['cockatiel', 'opossum', 'rate-limiter-flexible', 'bottleneck', 'bentocache', 'ioredis']
    .map((name) => {
      try {
        return `${name} ${packageVersion(require, name)}`;
      } catch {
        return `${name} (not installed)`;
      }
    })
    .join(', ');
}

/** A package's version, also for a package whose `exports` hide its package.json (bentocache). */
function packageVersion(require: NodeJS.Require, name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    let dir = dirname(require.resolve(name));
    for (;;) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
        if (pkg.name === name) return pkg.version;
      }
      const parent = dirname(dir);
      if (parent === dir) throw new Error(`no package.json for ${name}`);
      dir = parent;
    }
  }
}
