/**
 * `pnpm bench`: runs every `bench/*.bench.ts` suite in this one process and prints the figures,
 * the ratios with PASS/FAIL per target, and a final `BENCH_JSON {...}` line. Exits 0 whatever the
 * targets say (the figures are for the record; CI does not gate on them).
 *
 * Options (after `pnpm bench --`):
 *   --only <name>[,<name>]   run only these suites (file name without `.bench.ts`)
 *   --time <ms>              measured time per case (default 1200)
 *   --slice <ms>             length of one timed batch (default 2)
 *   --blocks <n>             blocks the run is cut into for the spread (default 7)
 *   --quick                  --time 200 --blocks 3: a smoke run, figures not for the record
 *
 * To add a benchmark, add `bench/<name>.bench.ts` with `export default defineSuite({...})`
 * (see harness.ts and breaker.bench.ts). Cases that compare should name a `baseline` of the same
 * shape, and targets are ratios of added overheads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchSuite, hasExplicitGc, type RunOptions, runSuite, type SuiteResult } from './harness.js';
import { benchJson, printSuite, printSummary } from './report.js';

const print = (line: string) => process.stdout.write(`${line}\n`);
const log = (line: string) => process.stderr.write(`${line}\n`);

function parseArgs(argv: readonly string[]): { only: string[] | undefined; opts: RunOptions } {
  let only: string[] | undefined;
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
    else if (a === '--time') timeMs = positive(a, argv[++i]);
    else if (a === '--slice') sliceMs = positive(a, argv[++i]);
    else if (a === '--blocks') blocks = Math.round(positive(a, argv[++i]));
    else if (a === '--quick') {
      timeMs = 200;
      blocks = 3;
    } else throw new Error(`bench: unknown option ${a}`);
  }
  return { only, opts: { timeMs, sliceMs, blocks, warmupMs: Math.min(200, timeMs), log } };
}

async function loadSuites(only: string[] | undefined): Promise<BenchSuite[]> {
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts')).sort();
  const names = files.map((f) => basename(f, '.bench.ts'));
  for (const name of only ?? []) {
    if (!names.includes(name)) throw new Error(`bench: no suite '${name}' (have: ${names.join(', ')})`);
  }
  const suites: BenchSuite[] = [];
  for (const file of files) {
    if (only !== undefined && !only.includes(basename(file, '.bench.ts'))) continue;
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default?: BenchSuite };
    if (mod.default === undefined) throw new Error(`bench: ${file} has no default export (defineSuite)`);
    suites.push(mod.default);
  }
  return suites;
}

async function main(): Promise<void> {
  const { only, opts } = parseArgs(process.argv.slice(2));
  if (!hasExplicitGc) log('bench: warning: run with node --expose-gc, or GC between cases is skipped');
  const suites = await loadSuites(only);
  print(
    `bench: node ${process.version}, ${suites.length} suite(s): ${suites.map((s) => s.name).join(', ')}; figures are medians, targets are ratios of added overheads (case - bare call of the same shape)`,
  );
  print(`bench: peers measured: ${peerVersions()}`);
  const results: SuiteResult[] = [];
  for (const suite of suites) {
    const result = await runSuite(suite, opts);
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
