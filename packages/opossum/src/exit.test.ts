/**
 * No timer of the breaker keeps a process alive (opossum unrefs its timers too): a one-shot script
 * whose breaker has rolling stats, snapshots, a warm-up, a health check and an open state waiting
 * out a long resetTimeout exits by itself once its work is done. A call in flight does keep it
 * alive, until its timeout: it stands for the I/O it waits on.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function runScript(
  source: string,
  limitMs: number,
): Promise<{ code: number | null; stdout: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=breakwater-source', '--input-type=module', '--eval', source],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, ms: Date.now() - started });
    });
  });
}

describe('a one-shot script', () => {
  it('exits by itself, its breakers still open, warming up and health-checking', async () => {
    const { code, stdout } = await runScript(
      `
      import CircuitBreaker from '@breakwater/opossum';
      const b = new CircuitBreaker(async (x) => { if (x < 0) throw new Error('down'); return x; }, {
        allowWarmUp: true, rollingCountTimeout: 600_000, resetTimeout: 600_000, timeout: 600_000,
      });
      b.status.on('snapshot', () => {});
      b.healthCheck(async () => {}, 600_000);
      await b.fire(1);
      b.open();
      await b.fire(1).catch(() => {});
      console.log(JSON.stringify({ opened: b.opened, warmUp: b.warmUp }));
      `,
      20_000,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ opened: true, warmUp: true });
  }, 30_000);

  it('waits for a call in flight until its timeout', async () => {
    const { code, stdout, ms } = await runScript(
      `
      import CircuitBreaker from '@breakwater/opossum';
      const b = new CircuitBreaker(() => new Promise(() => {}), { timeout: 1500 });
      b.fire().catch((e) => console.log(e.code));
      `,
      20_000,
    );
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('ETIMEDOUT');
    expect(ms).toBeGreaterThanOrEqual(1500);
  }, 30_000);
});
