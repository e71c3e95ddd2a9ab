/**
 * Memory tests of the MemoryStore (issue 11, defect 6): each scenario runs in its own child
 * process with `--expose-gc` (./memory-child.ts), so that heap figures are the scenario's alone
 * and a real full collection can be asked for. The child prints one JSON line; the test judges it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HeapReport } from './heap-report.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const CHILD_TIMEOUT_MS = 90_000;

function runChild<T>(...args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--conditions=breakwater-source', '--import', 'tsx', CHILD, ...args],
      { cwd: REPO_ROOT, timeout: CHILD_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`memory child ${args.join(' ')} failed: ${error.message}\n${stderr}`));
          return;
        }
        const line = stdout.trim().split('\n').at(-1) ?? '';
        try {
          resolve(JSON.parse(line) as T);
        } catch {
          reject(new Error(`memory child ${args.join(' ')} printed no JSON:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** The bound: after the names are gone, the heap is back within this of its baseline. */
const WITHIN_MB = 10;

describe('MemoryStore memory (child process, --expose-gc)', () => {
  for (const kind of ['breaker', 'rateLimiter', 'bulkhead'] as const) {
    it(`100,000 ${kind} names, then clear(): the heap returns to within ${WITHIN_MB} MB of its baseline`, async () => {
      const r = await runChild<HeapReport>('clear', kind);
      expect(r.size).toBe(0);
      expect(r.peakMB - r.baselineMB, 'the names did take memory while held').toBeGreaterThan(WITHIN_MB);
      expect(r.deltaMB, JSON.stringify(r)).toBeLessThanOrEqual(WITHIN_MB);
    });

    it(`50,000 ${kind}s never closed and no longer referenced do not pin memory after idle expiry`, async () => {
      const r = await runChild<HeapReport>('idle', kind);
      expect(r.size, 'only the newcomer is left').toBe(1);
      expect(r.peakMB - r.baselineMB, 'the names did take memory while held').toBeGreaterThan(WITHIN_MB);
      expect(r.deltaMB, JSON.stringify(r)).toBeLessThanOrEqual(WITHIN_MB);
    });
  }

  it('50,000 dropped breakers of a name still in use are not pinned by the store', async () => {
    const r = await runChild<HeapReport>('shared-name');
    expect(r.size).toBe(1);
    expect(r.deltaMB, JSON.stringify(r)).toBeLessThanOrEqual(WITHIN_MB);
  });

  it('a breaker still referenced keeps hearing its shared state after its cell expired and a collection ran', async () => {
    const r = await runChild<{ transitions: string[]; state: string }>('referenced-hears');
    expect(r.state).toBe('OPEN');
    expect(r.transitions).toEqual(['CLOSED->OPEN']);
  });

  it('eviction does not grow the cost of a new name with maxSize (1,000 vs 50,000 names held)', async () => {
    // Not a timing target (that is `pnpm bench`): a bound generous enough for a loaded machine
    // that an eviction scanning every cell (cost x50 here) still fails by far.
    const r = await runChild<{ smallUs: number; largeUs: number; ratio: number; sizes: number[] }>(
      'eviction',
    );
    expect(r.sizes).toEqual([1_000, 50_000]);
    expect(r.ratio, JSON.stringify(r)).toBeLessThanOrEqual(8);
  });
});
