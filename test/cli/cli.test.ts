/**
 * The built `breakwater` binary (packages/cli/dist/bin.js) against a real redis-server from the
 * harness: every command, --json, exit codes, password redaction, and forcing a breaker that a
 * CircuitBreaker on a RedisStore in this process then sees. The server runs with a password and
 * with KEYS disabled (renamed away), so the CLI can only have listed keys with SCAN.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  Bulkhead,
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  RateLimiter,
} from '@breakwater/core';
import { type FleetTransitionMessage, RedisStore } from '@breakwater/store-redis';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type RedisServer, startRedis, stopAll } from '../support/redis-harness.js';

const BIN = path.join(REPO_ROOT, 'packages/cli/dist/bin.js');
const PASSWORD = 'Pa55-w0rd_s3cret';
const BUILT_FROM = ['core', 'store-redis', 'cli'].map((p) => path.join(REPO_ROOT, 'packages', p));

/** Newest mtime of the .ts files under `dir` (recursively). */
function newest(dir: string, ext: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) max = Math.max(max, newest(full, ext));
    else if (entry.name.endsWith(ext) && !entry.name.endsWith('.test.ts'))
      max = Math.max(max, statSync(full).mtimeMs);
  }
  return max;
}

/** Builds the CLI and what it depends on, unless every dist/ is newer than its sources. */
function ensureBuilt(): void {
  const stale = BUILT_FROM.some((pkg) => {
    const dist = path.join(pkg, 'dist');
    const src = path.join(pkg, 'src');
    // store-redis reads its scripts (src/lua/*.lua) from dist/lua: they count as sources too
    return !existsSync(dist) || Math.max(newest(src, '.ts'), newest(src, '.lua')) > newest(dist, '.js');
  });
  if (!stale && existsSync(BIN)) return;
  execFileSync('pnpm', ['--filter', '@breakwater/cli...', 'run', 'build'], {
    cwd: REPO_ROOT,
    stdio: 'pipe',
    timeout: 120_000,
  });
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let server: RedisServer;
let url: string;
let client: Redis;

/** Runs the built binary; REDIS_URL and BREAKWATER_PREFIX come only from `env`. */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const base = { ...process.env };
  delete base.REDIS_URL;
  delete base.BREAKWATER_PREFIX;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...base, ...env }, timeout: 15_000, cwd: REPO_ROOT },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `breakwater <args> --redis <url with password>`. */
const bw = (...args: string[]) => cli([...args, '--redis', url]);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(async () => {
  ensureBuilt();
  server = await startRedis({ password: PASSWORD, args: ['--rename-command', 'KEYS', ''] });
  url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`;
  client = server.client();
}, 150_000);
afterAll(stopAll);

/** A service process: a RedisStore on its own client, with breakers on it. */
function service(keyPrefix = 'breakwater') {
  const own = server.client();
  const store = new RedisStore({ client: own, keyPrefix, commandTimeout: 2_000 });
  const breakers: CircuitBreaker[] = [];
  cleanups.push(async () => {
    for (const b of breakers) b.close();
    await store.close();
    own.disconnect();
  });
  return {
    store,
    breaker(name: string, config: CircuitBreakerConfig = {}) {
      const cb = CircuitBreaker.of(
        name,
        { slidingWindowSize: 4, minimumNumberOfCalls: 4, ...config },
        { store },
      );
      breakers.push(cb);
      return cb;
    },
  };
}

const fail = () => Promise.reject(new Error('downstream failed'));
const succeed = () => 'ok';
const settle = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    () => undefined,
  );

/** Two failures, two successes: 50% in a window of 4, so the breaker opens. */
async function tripOpen(cb: CircuitBreaker): Promise<void> {
  for (const call of [succeed, fail, succeed, fail]) await settle(cb.execute(call));
  expect(await cb.getState()).toBe('OPEN');
}

const oneLine = (text: string) => {
  expect(text.endsWith('\n')).toBe(true);
  expect(text.trimEnd().split('\n')).toHaveLength(1);
};

beforeAll(async () => {
  await client.flushall();
});

describe('breakwater: usage', () => {
  it('--help prints the commands and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of [
      'list',
      'status <name>',
      'open <name>',
      'close <name>',
      'disable <name>',
      'reset --all',
      'watch',
    ]) {
      expect(r.stdout).toContain(cmd);
    }
    expect(r.stdout).toMatch(
      /Exit codes: 0 ok, 1 failed, 2 usage error, 3 no such breaker \(or policy\), 4 Redis unreachable/,
    );
    expect((await cli(['help'])).stdout).toBe(r.stdout);
  });

  it("help <command> and <command> --help print that command's help and exit 0", async () => {
    const [help, after] = await Promise.all([cli(['help', 'reset']), cli(['reset', '--help'])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: breakwater reset <name> \| reset --all/);
    expect(help.stdout).toMatch(/\nExamples:\n {2}\$ breakwater reset pricing\n/);
    expect(after).toEqual(help);
  });

  it('exits 2 with one line on stderr for a usage error (the full matrix runs in-process in packages/cli)', async () => {
    const cases: string[][] = [[], ['frobnicate'], ['status'], ['list', '--bogus'], ['reset', 'a', '--all']];
    const runs = await Promise.all(cases.map((args) => cli(args)));
    runs.forEach((r, i) => {
      expect(r.code, cases[i].join(' ')).toBe(2);
      expect(r.stdout, cases[i].join(' ')).toBe('');
      expect(r.stderr, cases[i].join(' ')).toMatch(
        /^breakwater: .*\(see breakwater (--help|help [a-z]+)\)\n$/,
      );
    });
    expect(runs[1].stderr).toContain("unknown command 'frobnicate'");
    expect(runs[3].stderr).toContain("unknown option '--bogus'");
  });
});

describe('breakwater: Redis unreachable (exit 4)', () => {
  it('fails fast on a closed port, with the password blanked out', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const started = Date.now();
    const r = await cli(['list', '--redis', `redis://:${PASSWORD}@127.0.0.1:${closed}`]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.code).toBe(4);
    oneLine(r.stderr);
    expect(r.stderr).toContain(`cannot reach Redis at redis://:***@127.0.0.1:${closed}`);
    expect(r.stderr).not.toContain(PASSWORD);
  });

  it('gives up on a server that never answers after --timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket)); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const { port } = silent.address() as net.AddressInfo;
    const started = Date.now();
    const r = await cli(['status', 'x', '--timeout', '300', '--redis', `redis://127.0.0.1:${port}`]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.code).toBe(4);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/no answer within 300 ms/);
  });

  it('reports a wrong password as exit 4 without printing it (nor the right one)', async () => {
    const wrong = 'not-the-Password-42';
    const r = await cli(['list'], { REDIS_URL: `redis://:${wrong}@127.0.0.1:${server.port}` });
    expect(r.code).toBe(4);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/WRONGPASS|invalid password/);
    expect(r.stderr).not.toContain(wrong);
    expect(r.stderr).toContain('redis://:***@');
  });
});

describe('breakwater: reading breakers', () => {
  it('list shows every breaker with state and rates (SCAN only: KEYS is disabled on this server)', async () => {
    await client.flushall();
    const svc = service();
    const pricing = svc.breaker('pricing');
    await tripOpen(pricing);
    await settle(pricing.execute(succeed)); // refused
    const odd = svc.breaker('upbit/kr:ticker');
    await odd.execute(succeed);
    // other kinds of policy are listed by kind
    const limiter = RateLimiter.of(
      'pricing-api',
      { limitForPeriod: 5, limitRefreshPeriod: 60_000 },
      { store: svc.store },
    );
    cleanups.push(() => limiter.close());
    await limiter.execute(succeed);
    // other prefixes are not
    await service('elsewhere').breaker('hidden').execute(succeed);
    await expect(client.call('KEYS', '*')).rejects.toThrow(/unknown command/i);

    const r = await bw('list');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^KIND\s+NAME\s+STATE\s+FAILURE\s+SLOW\s+BUFFERED\s+FAILED\s+NOT PERMITTED\s+SINCE$/,
    );
    expect(lines.find((l) => l.includes(' pricing '))).toMatch(
      /^circuitbreaker\s+pricing\s+OPEN\s+50%\s+0%\s+4\s+2\s+1\s+/,
    );
    expect(lines.find((l) => l.includes('upbit/kr:ticker'))).toMatch(
      /circuitbreaker\s+upbit\/kr:ticker\s+CLOSED\s+-\s+-\s+1\s+0\s+0/,
    );
    expect(lines.find((l) => l.includes('pricing-api'))).toMatch(
      /^ratelimiter\s+pricing-api\s+fixed-window\s+4 permits left in this period\s+/,
    );
    expect(r.stdout).not.toContain('hidden');

    const other = await cli(['list', '--prefix', 'elsewhere', '--redis', url]);
    expect(other.stdout).toContain('hidden');
    expect(other.stdout).not.toContain('pricing');
  });

  it('list --json gives the same, machine-readable', async () => {
    await client.flushall();
    const svc = service();
    await tripOpen(svc.breaker('pricing'));
    // a key of a kind of policy this CLI does not know
    await client.set('breakwater:{tl:timeouts}:state', '{}');
    const r = await bw('list', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(list).toEqual([
      expect.objectContaining({
        kind: 'circuitbreaker',
        name: 'pricing',
        state: 'OPEN',
        failureRate: 50,
        slowCallRate: 0,
        bufferedCalls: 4,
        failedCalls: 2,
        key: 'breakwater:{cb:pricing}:state',
      }),
      { kind: 'tl', name: 'timeouts', keys: ['breakwater:{tl:timeouts}:state'] },
    ]);
  });

  it('list on an empty prefix says so and exits 0', async () => {
    const r = await cli(['list', '--prefix', 'nothing-here', '--redis', url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^No policies under prefix 'nothing-here' on redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?\n$/,
    );
  });

  it('status shows one breaker in detail; --json matches what the breaker itself reports', async () => {
    await client.flushall();
    const svc = service();
    const cb = svc.breaker('orders', { waitDurationInOpenState: 30_000 });
    await tripOpen(cb);
    const text = await bw('status', 'orders');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^orders \(circuit breaker\)\n/);
    expect(text.stdout).toMatch(/state\s+OPEN for \S+ \(waits \d+s more, then lets probes through\)/);
    expect(text.stdout).toMatch(/failure rate\s+50% \(2 of 4 buffered calls; opens at 50%\)/);
    expect(text.stdout).toMatch(/window\s+COUNT_BASED, size 4, minimum 4 calls/);
    expect(text.stdout).toMatch(/key\s+breakwater:\{cb:orders\}:state/);

    const r = await bw('status', 'orders', '--json');
    const status = JSON.parse(r.stdout);
    const metrics = await cb.getMetrics();
    expect(status).toMatchObject({
      name: 'orders',
      state: 'OPEN',
      failureRate: metrics.failureRate,
      slowCallRate: metrics.slowCallRate,
      bufferedCalls: metrics.numberOfBufferedCalls,
      failedCalls: metrics.numberOfFailedCalls,
      notPermittedCalls: metrics.numberOfNotPermittedCalls,
      window: { type: 'COUNT_BASED', size: 4, minimumCalls: 4 },
      config: expect.objectContaining({
        slidingWindowType: 'COUNT_BASED',
        slidingWindowSize: 4,
        failureRateThreshold: 50,
        waitDurationInOpenState: 30_000,
        automaticTransitionFromOpenToHalfOpenEnabled: false,
      }),
    });
    // every value of the document is typed: numbers and booleans are never strings
    const strings = (value: unknown, path: string): string[] =>
      typeof value === 'string'
        ? /^(-?\d+(\.\d+)?|true|false)$/.test(value)
          ? [path]
          : []
        : value !== null && typeof value === 'object'
          ? Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`))
          : [];
    expect(strings(status, 'status')).toEqual([]);
    expect(status.openUntil - status.since).toBe(30_000);
  });

  it('exits 3 with one line for a policy that does not exist, whatever the command', async () => {
    const commands = ['status', 'open', 'close', 'disable', 'reset'];
    const runs = await Promise.all(commands.map((command) => bw(command, 'no-such-breaker')));
    for (const [i, r] of runs.entries()) {
      expect(r.code, commands[i]).toBe(3);
      expect(r.stdout).toBe('');
      oneLine(r.stderr);
      expect(r.stderr).toMatch(
        new RegExp(
          `^breakwater: no ${commands[i] === 'status' ? 'policy' : 'breaker'} named 'no-such-breaker' ` +
            "under prefix 'breakwater' on redis://:\\*\\*\\*@",
        ),
      );
    }
    expect(await client.exists('breakwater:{cb:no-such-breaker}:state')).toBe(0);
  });
});

describe('breakwater: rate limiters and bulkheads', () => {
  /** When something was done: between these two readings of the clock (Redis's and ours are the host's). */
  type Span = readonly [from: number, to: number];
  const during = async (act: () => Promise<unknown>): Promise<Span> => {
    const from = Date.now();
    await act();
    return [from, Date.now()];
  };
  /** Redis TIME is read to the millisecond: a margin for its rounding against Date.now(). */
  const within = (value: number, [from, to]: Span, plus: number) => {
    expect(value).toBeGreaterThanOrEqual(from + plus - 2);
    expect(value).toBeLessThanOrEqual(to + plus + 2);
  };

  /**
   * A fixed-window limiter (5 an hour: no period ends during a test) and a GCRA one (5 a minute:
   * a permit every 12 s) with permits taken, and a bulkhead with a call running in it.
   */
  async function policies(): Promise<{ gcra: Span; lease: Span }> {
    await client.flushall();
    const svc = service();
    await svc.breaker('pricing').execute(succeed);
    const fixed = RateLimiter.of(
      'pricing-api',
      { limitForPeriod: 5, limitRefreshPeriod: 3_600_000 },
      { store: svc.store },
    );
    const gcra = RateLimiter.of(
      'search-api',
      { limitForPeriod: 5, limitRefreshPeriod: 60_000, algorithm: 'gcra' },
      { store: svc.store },
    );
    const bulkhead = Bulkhead.of('workers', { maxConcurrentCalls: 3 }, { store: svc.store });
    cleanups.push(() => {
      fixed.close();
      gcra.close();
      bulkhead.close();
    });
    await fixed.execute(succeed);
    await fixed.execute(succeed);
    const gcraSpan = await during(() => gcra.execute(succeed));
    let finish = () => {};
    let running: Promise<void> = Promise.resolve();
    const leaseSpan = await during(async () => {
      running = bulkhead.execute(() => new Promise<void>((resolve) => (finish = resolve)));
      await expect.poll(() => client.zcard('breakwater:{bh:workers}:leases')).toBe(1);
    });
    cleanups.push(async () => {
      finish();
      await running;
    });
    return { gcra: gcraSpan, lease: leaseSpan };
  }

  it('list shows each with its kind and what its state says', async () => {
    await policies();
    const r = await bw('list');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const [breakers, limiters, bulkheads, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(rest).toEqual([]);
    expect(breakers).toMatch(/^KIND\s+NAME\s+STATE\s+FAILURE.*\ncircuitbreaker\s+pricing\s+CLOSED\s+/);
    const rl = limiters.split('\n');
    expect(rl[0]).toMatch(/^KIND\s+NAME\s+ALGORITHM\s+PERMITS\s+REFILLED IN$/);
    expect(rl[1]).toMatch(
      /^ratelimiter\s+pricing-api\s+fixed-window\s+3 permits left in this period\s+(\d+m )?\d+s$/,
    );
    expect(rl[2]).toMatch(/^ratelimiter\s+search-api\s+gcra\s+next permit in \d+s\s+\d+s$/);
    const bh = bulkheads.split('\n');
    expect(bh[0]).toMatch(/^KIND\s+NAME\s+LEASES HELD\s+NEXT EXPIRY\s+CALLERS WAITING$/);
    expect(bh[1]).toMatch(/^bulkhead\s+workers\s+1 lease\s+in \d+s\s+no$/);
  });

  it('list --json and status --json: typed, with what can be read of their state', async () => {
    const took = await policies();
    const list = JSON.parse((await bw('list', '--json')).stdout) as Record<string, unknown>[];
    expect(list.map((p) => `${p.kind} ${p.name}`)).toEqual([
      'circuitbreaker pricing',
      'ratelimiter pricing-api',
      'ratelimiter search-api',
      'bulkhead workers',
    ]);
    expect(list[1]).toEqual({
      kind: 'ratelimiter',
      name: 'pricing-api',
      key: 'breakwater:{rl:pricing-api}:state',
      algorithm: 'fixed-window',
      period: Math.floor(took.gcra[0] / 3_600_000),
      permitsLeft: 3,
      permitsReserved: 0,
      nextPermitAt: null,
      ttlMs: expect.any(Number),
    });
    expect(list[2]).toMatchObject({ algorithm: 'gcra', permitsLeft: null, nextPermitAt: expect.any(Number) });
    // GCRA: one permit every 12 s, the next one 12 s after the first
    within(list[2].nextPermitAt as number, took.gcra, 12_000);
    expect(list[3]).toEqual({
      kind: 'bulkhead',
      name: 'workers',
      key: 'breakwater:{bh:workers}:leases',
      leasesHeld: 1,
      leases: [{ id: expect.any(String), expiresAt: expect.any(Number) }],
      expiredLeases: 0,
      callersWaiting: false,
      ttlMs: expect.any(Number),
    });
    // the lease runs out bulkheadLeaseMs (60 s by default) after it was taken, unless renewed
    within((list[3].leases as { expiresAt: number }[])[0].expiresAt, took.lease, 60_000);

    const [limiter, bulkhead] = await Promise.all([
      bw('status', 'pricing-api', '--json'),
      bw('status', 'workers', '--json'),
    ]);
    expect(JSON.parse(limiter.stdout)).toMatchObject({ kind: 'ratelimiter', permitsLeft: 3 });
    expect(JSON.parse(bulkhead.stdout)).toMatchObject({ kind: 'bulkhead', leasesHeld: 1 });
  });

  it('status shows a rate limiter or a bulkhead in detail', async () => {
    await policies();
    const [fixed, gcra, bulkhead] = await Promise.all([
      bw('status', 'pricing-api'),
      bw('status', 'search-api'),
      bw('status', 'workers'),
    ]);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toMatch(/^pricing-api \(rate limiter\)\n/);
    expect(fixed.stdout).toMatch(/algorithm\s+fixed-window\n/);
    expect(fixed.stdout).toMatch(/permits\s+3 left in this period\n/);
    expect(fixed.stdout).toMatch(/key\s+breakwater:\{rl:pricing-api\}:state\n/);
    expect(gcra.stdout).toMatch(/^search-api \(rate limiter\)\n/);
    expect(gcra.stdout).toMatch(/next permit\s+in \d+s\n/);
    expect(bulkhead.stdout).toMatch(/^workers \(bulkhead\)\n/);
    expect(bulkhead.stdout).toMatch(
      /leases held\s+1, renewed while its call runs\n\s+\S+\s+expires in \d+s unless renewed\n/,
    );
    expect(bulkhead.stdout).toMatch(/callers waiting\s+no\n/);
  });

  it('--kind picks one when a name is used by policies of several kinds', async () => {
    await policies();
    const svc = service();
    await svc.breaker('pricing-api').execute(succeed); // the name of the fixed-window limiter too

    const both = await bw('status', 'pricing-api');
    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
    oneLine(both.stderr);
    expect(both.stderr).toMatch(
      /'pricing-api' names a circuit breaker and a rate limiter under prefix 'breakwater': say which with --kind circuitbreaker or --kind ratelimiter/,
    );
    const limiter = await bw('status', 'pricing-api', '--kind', 'ratelimiter');
    expect(limiter.stdout).toMatch(/^pricing-api \(rate limiter\)\n/);
    const breaker = await bw('status', 'pricing-api', '--kind', 'circuitbreaker');
    expect(breaker.stdout).toMatch(/^pricing-api \(circuit breaker\)\n/);

    const none = await bw('status', 'pricing', '--kind', 'bulkhead');
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/^breakwater: no bulkhead named 'pricing' under prefix 'breakwater'/);
  });

  it('open, close, disable and reset act on breakers only, and say what the name is', async () => {
    await policies();
    const r = await bw('open', 'workers');
    expect(r.code).toBe(3);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(
      /no breaker named 'workers' .*\('workers' is a bulkhead: open acts on breakers only\)/,
    );
    expect(await client.exists('breakwater:{cb:workers}:state')).toBe(0);
  });
});

describe('breakwater: steering breakers fleet-wide', () => {
  it('open pins a breaker FORCED_OPEN: a CircuitBreaker on a RedisStore here sees it and refuses calls', async () => {
    await client.flushall();
    const svc = service();
    const cb = svc.breaker('payments');
    await cb.execute(succeed); // the key exists, with the service's config
    const fleet: FleetTransitionMessage[] = [];
    cleanups.push(svc.store.onFleetTransition((m) => fleet.push(m)));
    await new Promise((resolve) => setTimeout(resolve, 50)); // subscription in place

    const r = await bw('open', 'payments');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "payments: CLOSED -> FORCED_OPEN; every process now refuses its calls, until 'breakwater close payments'\n",
    );
    expect(await cb.getState()).toBe('FORCED_OPEN');
    await expect(cb.execute(succeed)).rejects.toBeInstanceOf(CallNotPermittedError);
    // a second process joining now sees it too
    const late = service().breaker('payments');
    expect(await late.getState()).toBe('FORCED_OPEN');
    // the transition went out on the fleet's channel, from the CLI
    await expect.poll(() => fleet.length).toBe(1);
    expect(fleet[0]).toMatchObject({
      name: 'payments',
      transitions: [{ from: 'CLOSED', to: 'FORCED_OPEN', reason: 'MANUAL' }],
    });
    expect(fleet[0].origin).toMatch(/^breakwater-cli@/);

    const again = await bw('open', 'payments');
    expect(again.stdout).toBe('payments: already FORCED_OPEN\n');

    const closed = await bw('close', 'payments', '--json');
    expect(closed.code).toBe(0);
    expect(JSON.parse(closed.stdout)).toEqual({
      name: 'payments',
      target: 'CLOSED',
      before: 'FORCED_OPEN',
      transitions: [{ from: 'FORCED_OPEN', to: 'CLOSED' }],
    });
    expect(await cb.getState()).toBe('CLOSED');
    await expect(cb.execute(succeed)).resolves.toBe('ok');
  });

  it('disable lets every call through and records nothing; close and reset bring it back', async () => {
    await client.flushall();
    const svc = service();
    const cb = svc.breaker('search');
    await tripOpen(cb);
    const r = await bw('disable', 'search');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^search: OPEN -> DISABLED; calls always pass/);
    expect(await cb.getState()).toBe('DISABLED');
    for (let i = 0; i < 6; i++) await settle(cb.execute(fail));
    expect(await cb.getState()).toBe('DISABLED');

    const reset = await bw('reset', 'search');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toBe('search: reset (DISABLED -> CLOSED, window cleared)\n');
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('reset keeps the state machine: a reset breaker opens again on the same config', async () => {
    await client.flushall();
    const svc = service();
    const cb = svc.breaker('catalog');
    await tripOpen(cb);
    expect((await bw('reset', 'catalog')).code).toBe(0);
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    await tripOpen(cb); // window of 4 and 50%, as configured by the service
  });

  it('reset --all --yes resets every breaker under the prefix', async () => {
    await client.flushall();
    const svc = service();
    const a = svc.breaker('alpha');
    const b = svc.breaker('beta');
    await tripOpen(a);
    await tripOpen(b);
    await svc.breaker('gamma').execute(succeed);
    const r = await bw('reset', '--all', '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'alpha: reset (OPEN -> CLOSED, window cleared)',
        'beta: reset (OPEN -> CLOSED, window cleared)',
        'gamma: reset (CLOSED, window cleared)',
        '3 breakers reset',
        '',
      ].join('\n'),
    );
    expect(await a.getState()).toBe('CLOSED');
    expect(await b.getState()).toBe('CLOSED');

    await tripOpen(a);
    const json = await bw('reset', '--all', '--json', '-y');
    expect(JSON.parse(json.stdout)).toEqual({
      reset: [
        { name: 'alpha', before: 'OPEN', transitions: [{ from: 'OPEN', to: 'CLOSED' }] },
        { name: 'beta', before: 'CLOSED', transitions: [] },
        { name: 'gamma', before: 'CLOSED', transitions: [] },
      ],
      failed: [],
    });
  });

  it('reset --all without --yes and without a terminal: exit 2, says why, changes nothing', async () => {
    await client.flushall();
    const svc = service();
    const a = svc.breaker('alpha');
    await tripOpen(a);
    const before = await client.get('breakwater:{cb:alpha}:state');
    const r = await bw('reset', '--all'); // stdin is a pipe here, not a terminal
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/reset --all needs --yes when there is no terminal to confirm on/);
    expect(r.stderr).toMatch(/nothing was reset/);
    expect(await client.get('breakwater:{cb:alpha}:state')).toBe(before);
    expect(await a.getState()).toBe('OPEN');
  });

  describe('reset --all on a terminal', () => {
    /**
     * Runs the binary on a pseudo-terminal (util-linux `script`), typing `answer` and Enter: what a
     * person at a terminal gets. Resolves to everything the terminal showed.
     */
    function onTerminal(args: readonly string[], answer: string): Promise<Run> {
      const command = [process.execPath, BIN, ...args]
        .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
        .join(' ');
      return new Promise((resolve) => {
        const child = execFile(
          'script',
          ['--quiet', '--return', '--command', command, '/dev/null'],
          { timeout: 15_000, cwd: REPO_ROOT },
          (error, stdout, stderr) => {
            const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
            resolve({ code, stdout: stdout.replaceAll('\r\n', '\n'), stderr });
          },
        );
        // Typed once the question is on the screen, as a person would.
        let screen = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          screen += chunk.toString();
          if (screen.includes('[y/N]') && child.stdin?.writable) child.stdin.end(`${answer}\n`);
        });
      });
    }

    it('asks first, lists what it will reset, and resets nothing unless told yes', async () => {
      await client.flushall();
      const svc = service();
      const a = svc.breaker('alpha');
      await tripOpen(a);
      await svc.breaker('beta').execute(succeed);

      const declined = await onTerminal(['reset', '--all', '--redis', url], 'n');
      expect(declined.stdout).toMatch(
        /Reset 2 breakers \(alpha, beta\) under prefix 'breakwater' on redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?\? \[y\/N\] /,
      );
      expect(declined.stdout).toMatch(/breakwater: not confirmed: nothing was reset/);
      expect(declined.code).toBe(1);
      expect(await a.getState()).toBe('OPEN');

      const confirmed = await onTerminal(['reset', '--all', '--redis', url], 'y');
      expect(confirmed.code).toBe(0);
      expect(confirmed.stdout).toContain('alpha: reset (OPEN -> CLOSED, window cleared)');
      expect(confirmed.stdout).toContain('2 breakers reset');
      expect(await a.getState()).toBe('CLOSED');
      expect(confirmed.stdout + declined.stdout).not.toContain(PASSWORD);
    });

    it('with one breaker, says so in the singular; --yes does not ask', async () => {
      await client.flushall();
      await tripOpen(service().breaker('solo'));
      const r = await onTerminal(['reset', '--all', '--yes', '--redis', url], 'n');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('[y/N]');
      expect(r.stdout).toMatch(/solo: reset \(OPEN -> CLOSED, window cleared\)\n1 breaker reset\n/);
    });
  });

  it('refuses to steer a key that holds no breaker state, and says why', async () => {
    await client.flushall();
    await client.set('breakwater:{cb:mangled}:state', 'not json');
    const r = await bw('open', 'mangled');
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/mangled: the key holds no breaker state/);
    expect(await client.get('breakwater:{cb:mangled}:state')).toBe('not json');
    const status = await bw('status', 'mangled', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'INVALID' });
  });
});

describe('breakwater watch', () => {
  it('prints a table per refresh (--iterations), and NDJSON with --json', async () => {
    await client.flushall();
    const svc = service();
    await tripOpen(svc.breaker('pricing'));
    await svc.breaker('inventory').execute(succeed);

    const r = await bw('watch', '--iterations', '2', '--interval', '100ms');
    expect(r.code).toBe(0);
    const frames = r.stdout.split('\n\n');
    expect(frames).toHaveLength(2);
    for (const frame of frames) {
      const lines = frame.trimEnd().split('\n');
      expect(lines[0]).toMatch(
        /^breakwater watch {2}redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? {2}prefix breakwater {2}\d\d:\d\d:\d\d UTC {2}every 100ms$/,
      );
      expect(lines[1]).toMatch(/^NAME\s+STATE\s+FAILURE/);
      expect(lines[2]).toMatch(/^inventory\s+CLOSED/);
      expect(lines[3]).toMatch(/^pricing\s+OPEN\s+50%/);
    }
    expect(r.stdout).not.toContain('\x1b['); // not a terminal: no cursor control

    const once = await bw('watch', '--once', '--json');
    const lines = once.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]);
    expect(doc.breakers.map((b: { name: string; state: string }) => `${b.name}:${b.state}`)).toEqual([
      'inventory:CLOSED',
      'pricing:OPEN',
    ]);
    expect(Number.isNaN(Date.parse(doc.at))).toBe(false);
  });
});

describe('breakwater: the password never shows', () => {
  it('in no output of any command, from --redis or REDIS_URL', async () => {
    await client.flushall();
    await service().breaker('secretive').execute(succeed);
    // (list, status, reset --all, errors and unreachable servers are checked in the tests above too)
    const runs = await Promise.all([
      bw('watch', '--once'),
      bw('status', 'secretive', '--json'),
      bw('open', 'secretive'),
      cli(['list'], { REDIS_URL: url }),
      cli(['status', 'missing'], { REDIS_URL: url }),
      cli(['list', '--bogus', '--redis', url]),
      cli(['list', '--redis', `http://:${PASSWORD}@host`]),
      cli(['list', '--prefix', 'empty'], { REDIS_URL: url }),
    ]);
    for (const r of runs) {
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      expect(r.stdout + r.stderr).not.toContain(encodeURIComponent(PASSWORD));
    }
    expect(runs.filter((r) => (r.stdout + r.stderr).includes('redis://:***@')).length).toBeGreaterThanOrEqual(
      3,
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 3, 2, 2, 0]);
  });
});
