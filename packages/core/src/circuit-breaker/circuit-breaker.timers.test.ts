/**
 * No timer keeps the process alive: a child process that trips breakers with long automatic
 * waits (and half-open max waits) and then runs out of work must exit by itself.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

/** Runs `source` as an ES module in a child node (TypeScript sources via tsx); kills it after `limitMs`. */
function runChild(source: string, limitMs: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=breakwater-source', '--input-type=module', '--eval', source],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const guard = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

const SCRIPT = `
import { CircuitBreaker, CircuitBreakerRegistry } from '@breakwater/core';
import { MemoryStore } from '@breakwater/store-memory';

const fail = (cb) => cb.execute(() => { throw new Error('down'); }).catch(() => {});
const trip = { slidingWindowSize: 2, minimumNumberOfCalls: 2 };

// 1. OPEN with a 60 s automatic transition pending (in-process engine).
const a = CircuitBreaker.of('auto', {
  ...trip,
  automaticTransitionFromOpenToHalfOpenEnabled: true,
  waitDurationInOpenState: 60000,
  maxWaitDurationInHalfOpenState: 60000,
});
await fail(a); await fail(a);

// 2. HALF_OPEN with a 60 s max wait pending, on a MemoryStore, through a registry.
const registry = CircuitBreakerRegistry.of({ store: new MemoryStore() });
const b = registry.circuitBreaker('maxwait', {
  ...trip,
  waitDurationInOpenState: 60000,
  maxWaitDurationInHalfOpenState: 60000,
});
await b.transitionToOpenState();
await b.transitionToHalfOpenState();

// 3. A control: a short automatic wait does fire while something else keeps the process up,
//    so the timers exist and work; they just do not hold the process open.
const c = CircuitBreaker.of('short', {
  ...trip,
  automaticTransitionFromOpenToHalfOpenEnabled: true,
  waitDurationInOpenState: 50,
});
let fired = false;
c.on('STATE_TRANSITION', (e) => { if (e.to === 'HALF_OPEN') fired = true; });
await fail(c); await fail(c);
await new Promise((r) => setTimeout(r, 300));

console.log(JSON.stringify({ a: await a.getState(), b: await b.getState(), c: await c.getState(), fired }));
`;

describe('timers', () => {
  it('no breaker timer keeps the process alive', async () => {
    const result = await runChild(SCRIPT, 15_000);
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.killed).toBe(false);
    expect(result.code).toBe(0);
    const lastLine = result.stdout.trim().split('\n').at(-1) ?? '';
    expect(JSON.parse(lastLine)).toEqual({ a: 'OPEN', b: 'HALF_OPEN', c: 'HALF_OPEN', fired: true });
  });
});
