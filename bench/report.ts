/** Prints suite results as a compact table, PASS/FAIL per target, and one machine-readable line. */
import os from 'node:os';
import type { Figure, RunOptions, SuiteResult } from './harness.js';

const ns = (v: number) => v.toFixed(1);
const range = (f: Figure, fmt: (v: number) => string) => `${fmt(f.min)}..${fmt(f.max)}`;
const ratio = (v: number) => `${v.toFixed(2)}x`;
/** Spread of a figure over the blocks of the run: (max - min) / |value|, in percent. */
export const spread = (f: Figure) => (f.value === 0 ? 0 : ((f.max - f.min) / Math.abs(f.value)) * 100);

export function printSuite(r: SuiteResult, opts: RunOptions, print: (line: string) => void): void {
  const title = `${r.name}${r.description ? ` - ${r.description}` : ''}`;
  if (r.skipped !== undefined) {
    print(`\n== ${title}: SKIPPED (${r.skipped})`);
    return;
  }
  print(
    `\n== ${title}  [${r.passes} passes of ~${opts.sliceMs} ms slices, ${opts.blocks} blocks; ${r.seconds.toFixed(1)} s]`,
  );

  if (r.cases.length > 0) {
    const w = Math.max(30, ...r.cases.map((c) => c.label.length));
    print(
      `  ${'case'.padEnd(w)}  ${'ns/call'.padStart(8)}  ${'added'.padStart(8)}  ${'blocks min..max'.padStart(16)}  over`,
    );
    for (const c of r.cases) {
      const o = c.overhead;
      print(
        `  ${c.label.padEnd(w)}  ${ns(c.ns.value).padStart(8)}  ${(o ? `+${ns(o.value)}` : '-').padStart(8)}  ${(o ? range(o, ns) : range(c.ns, ns)).padStart(16)}  ${c.baseline ?? '(ns/call range)'}`,
      );
    }
  }

  if (r.ratios.length > 0) {
    const w = Math.max(30, ...r.ratios.map((x) => x.label.length));
    print(
      `  ${'ratio of added overheads'.padEnd(w)}  ${'value'.padStart(7)}  ${'blocks'.padStart(12)}  target`,
    );
    for (const x of r.ratios) {
      const verdict = x.max === undefined ? '(info)' : `<= ${ratio(x.max)}  ${x.pass ? 'PASS' : 'FAIL'}`;
      print(
        `  ${x.label.padEnd(w)}  ${ratio(x.value.value).padStart(7)}  ${range(x.value, ratio).padStart(12)}  ${verdict}`,
      );
    }
  }

  for (const c of r.checks) print(`  check ${c.label}: ${c.pass ? 'PASS' : 'FAIL'} - ${c.detail}`);
}

export function printSummary(results: readonly SuiteResult[], print: (line: string) => void): void {
  const targets = results.flatMap((r) => r.ratios.filter((x) => x.pass !== undefined));
  const checks = results.flatMap((r) => r.checks);
  const failed = [...targets.filter((x) => !x.pass), ...checks.filter((c) => !c.pass)];
  const passed = targets.length + checks.length - failed.length;
  // Worded so that it cannot be taken for a test runner's closing "N passed, N failed" line.
  print(
    `\nbench: ${passed} of ${targets.length + checks.length} targets and checks met${failed.length ? `; not met: ${failed.map((f) => f.id).join(', ')}` : ''}`,
  );
  const noisiest = results
    .flatMap((r) => r.cases)
    .filter((c) => c.overhead !== undefined)
    .map((c) => ({ id: c.id, spread: spread(c.overhead!) }))
    .sort((a, b) => b.spread - a.spread)[0];
  const ratioSpread = results
    .flatMap((r) => r.ratios)
    .map((x) => ({ id: x.id, spread: spread(x.value) }))
    .sort((a, b) => b.spread - a.spread)[0];
  if (noisiest !== undefined && ratioSpread !== undefined) {
    print(
      `bench: largest spread over blocks: added overhead ${noisiest.spread.toFixed(1)}% (${noisiest.id}), ratio ${ratioSpread.spread.toFixed(1)}% (${ratioSpread.id})`,
    );
  }
}

/** One line, `BENCH_JSON {...}`, with every figure, for recording results. */
export function benchJson(results: readonly SuiteResult[], opts: RunOptions): string {
  const round = (v: number, digits = 1) => Number(v.toFixed(digits));
  const json = {
    schema: 1,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    timeMs: opts.timeMs,
    sliceMs: opts.sliceMs,
    blocks: opts.blocks,
    at: new Date().toISOString(),
    suites: Object.fromEntries(
      results.map((r) => [
        r.name,
        r.skipped !== undefined
          ? { skipped: r.skipped }
          : {
              seconds: round(r.seconds),
              passes: r.passes,
              cases: Object.fromEntries(
                r.cases.map((c) => [
                  c.id,
                  {
                    ns: round(c.ns.value),
                    nsMin: round(c.ns.min),
                    nsMax: round(c.ns.max),
                    ...(c.overhead === undefined
                      ? {}
                      : {
                          baseline: c.baseline,
                          overhead: round(c.overhead.value),
                          overheadMin: round(c.overhead.min),
                          overheadMax: round(c.overhead.max),
                        }),
                  },
                ]),
              ),
              ratios: Object.fromEntries(
                r.ratios.map((x) => [
                  x.id,
                  {
                    value: round(x.value.value, 3),
                    min: round(x.value.min, 3),
                    max: round(x.value.max, 3),
                    ...(x.max === undefined ? {} : { limit: x.max, pass: x.pass }),
                  },
                ]),
              ),
              checks: Object.fromEntries(r.checks.map((c) => [c.id, { pass: c.pass, detail: c.detail }])),
            },
      ]),
    ),
  };
  return `BENCH_JSON ${JSON.stringify(json)}`;
}
