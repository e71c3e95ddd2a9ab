/**
 * Test harness for everything that needs a real Redis: it starts its OWN `redis-server` processes
 * (never the shared instance on 6379) on free loopback ports, each with its own temp `--dir`, and
 * makes sure they die with the test file.
 *
 * - `startRedis()`: one standalone server. kill -9 / restart on the same port / SCRIPT FLUSH /
 *   SIGSTOP-SIGCONT, for chaos tests.
 * - `startRedisCluster({ masters: 3, replicas })`: an N-master Redis Cluster built with
 *   `redis-cli --cluster create`, with `replicas` replicas per master (default 0); a node can be
 *   killed and restarted with its slots, or, with replicas, replaced by its replica
 *   (`waitForFailover`) and restarted as that replica's replica.
 * - `startRedisSentinel()`: a master, a replica and a sentinel (`redis-server --sentinel`) with
 *   short timings, for failover tests: kill -9 the master, `waitForFailover` for the promoted
 *   replica, restart the old master as its replica. `client()` is a Sentinel client.
 * - `spawnWorker()`: a TypeScript worker process (tsx, `breakwater-source` condition) that speaks
 *   JSON lines on stdin/stdout, for fleet tests. The worker side is `./worker-channel.ts`.
 *
 * Cleanup: every spawned process is tracked in a module-level set. `stopAllRedis()` /
 * `stopAllWorkers()` / `stopAll()` kill them (use `afterAll(stopAll)`), and a synchronous
 * `process.on('exit')` hook SIGKILLs whatever is left. Ports are reserved across processes with
 * lock files in `<tmpdir>/breakwater-redis-ports/` (parallel vitest forks never share a port, and a
 * killed server's port stays reserved for its restart); lock files left by a crashed run are
 * reaped, together with their orphaned redis-server, on first use.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Cluster, type ClusterOptions, Redis, type RedisOptions, ReplyError } from 'ioredis';

// ---------------------------------------------------------------------------------------------
// Constants and module-level registries
// ---------------------------------------------------------------------------------------------

/** The repository root (`/work/main`): cwd of worker processes. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const HOST = '127.0.0.1';
const REDIS_SERVER = 'redis-server';
const REDIS_CLI = 'redis-cli';
const CLUSTER_BUS_OFFSET = 10_000;
const TMP_PREFIX = 'breakwater-redis-';
const LOCK_DIR = path.join(os.tmpdir(), 'breakwater-redis-ports');

const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;
const DEFAULT_CLUSTER_TIMEOUT_MS = 20_000;
const DEFAULT_WAIT_MS = 10_000;
/**
 * Arguments of servers that have replicas: a replica's full sync starts at once (by default a
 * diskless sync waits 5 s for more replicas to arrive).
 */
const REPLICATION_ARGS = ['--repl-diskless-sync-delay', '0'];

interface HarnessRegistry {
  /** Every redis-server child process still running (removed when it exits). */
  readonly liveRedisProcesses: Set<ChildProcess>;
  /** Every worker child process still running. */
  readonly liveWorkers: Set<ChildProcess>;
  /** Every server / cluster handle not yet stopped (stopAllRedis tears these down). */
  readonly openHandles: Set<{ forceStop(): Promise<void>; cleanupSync(): void }>;
  /** Port lock files held by this process. */
  readonly heldLocks: Set<number>;
}

// Kept on globalThis so that a module re-evaluated in the same process (vitest isolation modes)
// shares one registry and installs one exit hook.
const REGISTRY = Symbol.for('breakwater.test.redis-harness');
const globalScope = globalThis as typeof globalThis & { [REGISTRY]?: HarnessRegistry };
globalScope[REGISTRY] ??= createRegistry();
const registry: HarnessRegistry = globalScope[REGISTRY];
const { liveRedisProcesses, liveWorkers, openHandles, heldLocks } = registry;

function createRegistry(): HarnessRegistry {
  const created: HarnessRegistry = {
    liveRedisProcesses: new Set(),
    liveWorkers: new Set(),
    openHandles: new Set(),
    heldLocks: new Set(),
  };
  // last resort, synchronous: SIGKILL everything still running, remove dirs, free ports
  process.on('exit', () => {
    for (const child of [...created.liveRedisProcesses, ...created.liveWorkers]) sigkill(child);
    for (const handle of created.openHandles) {
      try {
        handle.cleanupSync();
      } catch {
        // keep going
      }
    }
    for (const port of created.heldLocks) {
      try {
        unlinkSync(lockPath(port));
      } catch {
        // already gone
      }
    }
    created.heldLocks.clear();
  });
  return created;
}

function sigkill(child: ChildProcess): void {
  try {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGKILL');
    }
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves when `child` has exited (and its stdio closed), or after `timeoutMs` with false. */
function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** Sends `signal`, waits up to `timeoutMs` for exit, then SIGKILLs and waits again. */
async function terminate(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    // a SIGSTOPped process only handles SIGTERM/SIGINT after SIGCONT
    if (signal !== 'SIGKILL') child.kill('SIGCONT');
    child.kill(signal);
  } catch {
    // raced with exit
  }
  if (await waitForExit(child, timeoutMs)) return;
  sigkill(child);
  if (!(await waitForExit(child, timeoutMs))) {
    throw new Error(`process ${child.pid} did not exit after SIGKILL within ${timeoutMs} ms`);
  }
}

/** Resolves once the child's stdout and stderr have closed, or after `timeoutMs`. */
function streamsClosed(child: ChildProcess, timeoutMs: number): Promise<void> {
  const closed = [child.stdout, child.stderr].map((stream) =>
    stream && !stream.closed
      ? new Promise<void>((resolve) => stream.once('close', () => resolve()))
      : undefined,
  );
  return Promise.race([Promise.all(closed).then(() => undefined), sleep(timeoutMs)]);
}

/**
 * Calls `check` every `intervalMs` until it returns something other than a string (returned); a
 * string says why not yet, and the last one is in the error thrown after `timeoutMs`.
 */
async function poll<T>(
  check: () => Promise<T | string>,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (typeof result !== 'string') return result;
    if (Date.now() > deadline) throw new Error(`redis-harness: ${what} after ${timeoutMs} ms: ${result}`);
    await sleep(intervalMs);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isRedisServerProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Ports: bind :0 for a candidate, reserve it with a lock file shared by all processes
// ---------------------------------------------------------------------------------------------

interface PortLock {
  owner: number;
  redisPid?: number;
  dir?: string;
}

const lockPath = (port: number) => path.join(LOCK_DIR, `${port}.lock`);

function tryLockPort(port: number): boolean {
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath(port), 'wx');
      try {
        writeSync(fd, JSON.stringify({ owner: process.pid } satisfies PortLock));
      } finally {
        closeSync(fd);
      }
      heldLocks.add(port);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!reapStaleLock(port)) return false;
    }
  }
  return false;
}

function updatePortLock(port: number, info: Omit<PortLock, 'owner'>): void {
  if (!heldLocks.has(port)) return;
  try {
    writeFileSync(lockPath(port), JSON.stringify({ owner: process.pid, ...info } satisfies PortLock));
  } catch {
    // best effort: the lock still exists, only the reaper's hints are missing
  }
}

function releasePort(port: number): void {
  if (!heldLocks.delete(port)) return;
  try {
    unlinkSync(lockPath(port));
  } catch {
    // already gone
  }
}

/** Removes a lock whose owning process is dead, killing its orphaned redis-server. */
function reapStaleLock(port: number): boolean {
  let lock: PortLock;
  try {
    lock = JSON.parse(readFileSync(lockPath(port), 'utf8')) as PortLock;
  } catch (error) {
    // vanished: free now; unreadable/half-written: someone is creating it right now
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
  if (typeof lock.owner !== 'number' || processAlive(lock.owner)) return false;
  if (typeof lock.redisPid === 'number' && isRedisServerProcess(lock.redisPid)) {
    try {
      process.kill(lock.redisPid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (typeof lock.dir === 'string' && path.basename(lock.dir).startsWith(TMP_PREFIX)) {
    rmSync(lock.dir, { recursive: true, force: true });
  }
  try {
    unlinkSync(lockPath(port));
  } catch {
    // another reaper got there first
  }
  return true;
}

let swept = false;
/** Once per process: reap locks (and redis-servers) left behind by crashed runs. */
function sweepStaleLocks(): void {
  if (swept) return;
  swept = true;
  let files: string[];
  try {
    files = readdirSync(LOCK_DIR);
  } catch {
    return;
  }
  for (const file of files) {
    const match = /^(\d+)\.lock$/.exec(file);
    if (match) reapStaleLock(Number(match[1]));
  }
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: HOST, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A free loopback port, reserved (lock file) for this process until `releasePort`. With
 * `bus: true`, port + 10000 (the Cluster bus port) is checked free and reserved too.
 */
async function reserveFreePort(bus: boolean): Promise<number> {
  sweepStaleLocks();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await listenOnce(0);
    if (port === undefined) continue;
    if (bus && port + CLUSTER_BUS_OFFSET > 65_535) continue;
    if (!tryLockPort(port)) continue;
    if (!bus) return port;
    if (tryLockPort(port + CLUSTER_BUS_OFFSET)) {
      if ((await listenOnce(port + CLUSTER_BUS_OFFSET)) !== undefined) return port;
      releasePort(port + CLUSTER_BUS_OFFSET);
    }
    releasePort(port);
  }
  throw new Error('redis-harness: could not find a free port after 100 attempts');
}

// ---------------------------------------------------------------------------------------------
// One command over a fresh ioredis connection (readiness probes, INFO, SCRIPT FLUSH, CLUSTER INFO)
// ---------------------------------------------------------------------------------------------

/** An error reply (`-ERR ...`) from Redis: ioredis's own. */
export { ReplyError as RedisReplyError };

/** A reply as ioredis gives it for `call`: text, an integer, nil, or an array of these. */
export type RespValue = string | number | null | RespValue[];

export interface CommandOptions {
  host?: string;
  password?: string;
  timeoutMs?: number;
}

/**
 * Sends one command over a fresh connection and returns its reply; an error reply rejects with
 * `RedisReplyError`, a server that does not answer within `timeoutMs` with ioredis's timeout.
 * Authenticates first when `password` is given.
 *
 * The connection sends nothing but AUTH and the command: no ready check (INFO) and no client info
 * (CLIENT SETINFO), so that it works on any server a test talks to, one still loading, one paused
 * for clients (CLIENT PAUSE ALL answers once the pause ends) or frozen (SIGSTOP: the kernel accepts
 * the connection, the command times out), a sentinel, a cluster node; and no retries or offline
 * queue, so that a server that is down fails at once with the connection's error (ECONNREFUSED).
 */
export async function redisCommand(
  port: number,
  args: readonly string[],
  { host = HOST, password, timeoutMs = 2_000 }: CommandOptions = {},
): Promise<RespValue> {
  const [command, ...rest] = args;
  if (command === undefined) throw new RangeError('redis-harness: no command');
  const client = new Redis({
    host,
    port,
    password,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    enableReadyCheck: false,
    disableClientInfo: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  // A failed connect() rejects with 'Connection is closed.'; why it closed comes as an 'error' event.
  let connectionError: unknown;
  client.on('error', (error: unknown) => {
    connectionError ??= error;
  });
  try {
    await client.connect().catch((error: unknown) => {
      throw connectionError ?? error;
    });
    return (await client.call(command, ...rest)) as RespValue;
  } finally {
    client.disconnect();
  }
}

/** Parses `INFO` / `CLUSTER INFO` text into a `field -> value` record. */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/**
 * Why `replica` does not hold yet everything `master` had acknowledged when this was called (its
 * link is down, or it is behind that replication offset), or undefined once it does.
 */
async function replicaLag(master: RedisServer, replica: RedisServer): Promise<string | undefined> {
  try {
    const offset = Number((await master.info('replication')).master_repl_offset);
    const info = await replica.info('replication');
    if (info.master_port !== String(master.port) || info.master_link_status !== 'up') {
      return `${replica.port}: link to ${info.master_port} is ${info.master_link_status}`;
    }
    const at = Number(info.slave_repl_offset);
    return at >= offset ? undefined : `${replica.port}: at offset ${at} of ${offset}`;
  } catch (error) {
    return `${replica.port} or its master ${master.port}: ${(error as Error).message}`;
  }
}

/**
 * Cuts `master` off from its replicas, as a partition or a replica far behind would: it refuses
 * PSYNC and SYNC (ACL) and drops its replica connections, so what it acknowledges from now on
 * reaches none of them, while clients and sentinels are served as before. A replica keeps trying
 * to resync every second; `reattachReplicas` lets it.
 */
export async function detachReplicas(master: RedisServer): Promise<void> {
  await master.command('ACL', 'SETUSER', 'default', '-psync', '-sync');
  await master.command('CLIENT', 'KILL', 'TYPE', 'replica');
}

/**
 * Undoes `detachReplicas`: the replicas resync at their next attempt (within a second). PSYNC is
 * let through first, SYNC a moment later: a refused replica retries at once, PSYNC then SYNC, and
 * one whose PSYNC was refused just before both came back would resync with the old SYNC, which
 * leaves it connected with no replication offset (-1) for good.
 */
export async function reattachReplicas(master: RedisServer): Promise<void> {
  await master.command('ACL', 'SETUSER', 'default', '+psync');
  await sleep(100);
  await master.command('ACL', 'SETUSER', 'default', '+sync');
}

// ---------------------------------------------------------------------------------------------
// redis-server processes
// ---------------------------------------------------------------------------------------------

class LogTail {
  private readonly lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 60) {}
  push(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }
  toString(): string {
    return [...this.lines, this.partial].filter((line) => line !== '').join('\n');
  }
}

export interface StartRedisOptions {
  /** Extra redis-server arguments, e.g. `['--maxmemory', '10mb']`. Appended last, so they win. */
  args?: readonly string[];
  /** `--requirepass`; `client()`, `info()`, etc. authenticate with it. */
  password?: string;
  /** How long to wait for the first PING answer (per attempt). Default 10 s. */
  startTimeoutMs?: number;
}

export interface RedisServer {
  readonly host: string;
  /** Fixed for the life of the handle (restart reuses it). */
  readonly port: number;
  readonly url: string;
  /** Pid of the current redis-server process; undefined while it is down. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** The server's temp `--dir` (removed by `stop()`). */
  readonly dir: string;
  /** A new ioredis client for this server, disconnected by `stop()`. */
  client(options?: RedisOptions): Redis;
  /** Sends a signal (default SIGKILL, i.e. kill -9) and waits for the process to exit. SIGSTOP/SIGCONT don't wait. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the server keeps its sockets but answers nothing (a hung Redis). */
  pause(): Promise<void>;
  /** SIGCONT after `pause()`. */
  resume(): Promise<void>;
  /** Graceful: disconnects the handle's clients, SIGTERM (SIGKILL after 5 s), removes the temp dir, frees the port. */
  stop(): Promise<void>;
  /** Starts redis-server again on the SAME port and dir (SIGKILLs it first if still running). Data is not persisted. */
  restart(): Promise<void>;
  /** SCRIPT FLUSH. */
  flushScripts(): Promise<void>;
  /** INFO [section], parsed into fields. */
  info(section?: string): Promise<Record<string, string>>;
  /** One command over a fresh connection (`redisCommand`: works during chaos, e.g. on a paused or frozen server). */
  command(...args: string[]): Promise<RespValue>;
  /** The last lines the server logged. */
  logTail(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

interface ServerConfig {
  port: number;
  dir: string;
  /** A config file, given first (sentinels need one they can rewrite). */
  configFile?: string;
  args: readonly string[];
  password?: string;
  startTimeoutMs: number;
  busPort?: number;
}

class RedisServerImpl implements RedisServer {
  readonly host = HOST;
  readonly url: string;
  private child: ChildProcess | undefined;
  private log = new LogTail();
  private readonly clients = new Set<Redis>();
  private stopped = false;

  constructor(private readonly config: ServerConfig) {
    this.url = `redis://${HOST}:${config.port}`;
    openHandles.add(this);
  }

  get port(): number {
    return this.config.port;
  }
  get dir(): string {
    return this.config.dir;
  }
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Spawns redis-server (with `extraArgs` after the configured ones) and waits for PING. Throws
   * (with the log tail) if it exits or times out.
   */
  async launch(extraArgs: readonly string[] = []): Promise<void> {
    const { port, dir, password, startTimeoutMs, configFile } = this.config;
    const args = [
      ...(configFile === undefined ? [] : [configFile]),
      '--port',
      String(port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
      '--enable-debug-command',
      'local',
      ...(password === undefined ? [] : ['--requirepass', password]),
      ...this.config.args,
      ...extraArgs,
    ];
    this.log = new LogTail();
    const log = this.log;
    const child = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    liveRedisProcesses.add(child);
    child.once('exit', () => liveRedisProcesses.delete(child));
    child.stdout?.on('data', (chunk: Buffer) => log.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    updatePortLock(port, { redisPid: child.pid, dir });
    if (this.config.busPort !== undefined) updatePortLock(this.config.busPort, { redisPid: child.pid, dir });

    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const failure = await Promise.race([spawnError, sleep(0).then(() => undefined)]);
      if (failure) throw this.startError(`could not spawn ${REDIS_SERVER}: ${failure.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        await streamsClosed(child, 500); // the log's last lines may still be in flight
        throw this.startError(
          `redis-server exited (${child.exitCode ?? child.signalCode}) before answering PING`,
        );
      }
      try {
        await redisCommand(port, ['PING'], { timeoutMs: 500 });
        return;
      } catch (error) {
        if (error instanceof ReplyError && (error as Error).message.startsWith('NOAUTH')) return;
      }
      if (Date.now() > deadline) {
        sigkill(child);
        await waitForExit(child, DEFAULT_STOP_TIMEOUT_MS);
        throw this.startError(`redis-server did not answer PING within ${startTimeoutMs} ms`);
      }
      await sleep(20);
    }
  }

  private startError(what: string): Error {
    const error = new Error(
      `redis-harness: ${what} (port ${this.port}, dir ${this.dir}).\n--- redis-server log tail ---\n${this.log.toString()}`,
    );
    if (this.log.toString().includes('Address already in use')) {
      (error as NodeJS.ErrnoException).code = 'EADDRINUSE';
    }
    return error;
  }

  client(options: RedisOptions = {}): Redis {
    const client = new Redis({ host: HOST, port: this.port, password: this.config.password, ...options });
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      child.kill(signal);
      return;
    }
    await terminate(child, signal, DEFAULT_STOP_TIMEOUT_MS);
  }

  pause(): Promise<void> {
    return this.kill('SIGSTOP');
  }
  resume(): Promise<void> {
    return this.kill('SIGCONT');
  }

  restart(): Promise<void> {
    return this.restartWith([]);
  }

  /** `restart()`, with `extraArgs` after the configured arguments for this launch only (e.g. `--replicaof`). */
  async restartWith(extraArgs: readonly string[]): Promise<void> {
    if (this.stopped) throw new Error('redis-harness: restart() after stop()');
    await this.kill('SIGKILL');
    // the port stays reserved by our lock file, but an unrelated process may have bound it
    // meanwhile: retry until the start timeout runs out
    const deadline = Date.now() + this.config.startTimeoutMs;
    for (;;) {
      try {
        await this.launch(extraArgs);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
  }

  async flushScripts(): Promise<void> {
    await this.command('SCRIPT', 'FLUSH');
  }

  async info(section?: string): Promise<Record<string, string>> {
    const text = await this.command(...(section === undefined ? ['INFO'] : ['INFO', section]));
    return parseInfo(String(text));
  }

  command(...args: string[]): Promise<RespValue> {
    return redisCommand(this.port, args, { password: this.config.password });
  }

  logTail(): string {
    return this.log.toString();
  }

  private disconnectClients(): void {
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
  }

  private async shutdown(signal: NodeJS.Signals): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.disconnectClients();
    try {
      if (this.child) await terminate(this.child, signal, DEFAULT_STOP_TIMEOUT_MS);
    } finally {
      this.cleanupSync();
    }
  }

  stop(): Promise<void> {
    return this.shutdown('SIGTERM');
  }

  forceStop(): Promise<void> {
    return this.shutdown('SIGKILL');
  }

  /** Synchronous last resort (process 'exit'): kill, remove the dir, free the ports. */
  cleanupSync(): void {
    if (this.child) sigkill(this.child);
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // a SIGKILLed server may still be writing into it: best effort, it is under tmpdir
    }
    releasePort(this.port);
    if (this.config.busPort !== undefined) releasePort(this.config.busPort);
    openHandles.delete(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

interface ServerStartOptions extends StartRedisOptions {
  /** Reserve the Cluster bus port (port + 10000) too. */
  cluster?: boolean;
  /** A config file written into the server's dir and given first (a sentinel's). */
  configFile?: { readonly name: string; readonly text: string };
}

async function startServer(
  options: ServerStartOptions,
  extraArgs: (dir: string) => string[] = () => [],
): Promise<RedisServerImpl> {
  const bus = options.cluster === true;
  let lastError: unknown;
  // a port can be taken between the probe and redis-server's bind: retry with a fresh one
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await reserveFreePort(bus);
    let dir: string;
    try {
      dir = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
    } catch (error) {
      releasePort(port);
      if (bus) releasePort(port + CLUSTER_BUS_OFFSET);
      throw error;
    }
    const configFile = options.configFile && path.join(dir, options.configFile.name);
    const server = new RedisServerImpl({
      port,
      dir,
      configFile,
      args: [...extraArgs(dir), ...(options.args ?? [])],
      password: options.password,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      busPort: bus ? port + CLUSTER_BUS_OFFSET : undefined,
    });
    try {
      if (configFile !== undefined) writeFileSync(configFile, options.configFile?.text ?? '');
      await server.launch();
      return server;
    } catch (error) {
      lastError = error;
      await server.forceStop();
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  throw lastError;
}

/** Starts a standalone redis-server on a free loopback port, in its own temp dir. */
export function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  return startServer(options);
}

/** SIGKILLs every redis-server this process started (servers and cluster nodes), removes their dirs and disconnects their clients. */
export async function stopAllRedis(): Promise<void> {
  await Promise.allSettled([...openHandles].map((handle) => handle.forceStop()));
  await Promise.allSettled(
    [...liveRedisProcesses].map((child) => terminate(child, 'SIGKILL', DEFAULT_STOP_TIMEOUT_MS)),
  );
}

/** `stopAllRedis()` and `stopAllWorkers()`: the one-liner for `afterAll`. */
export async function stopAll(): Promise<void> {
  await Promise.all([stopAllWorkers(), stopAllRedis()]);
}

// ---------------------------------------------------------------------------------------------
// Redis Cluster
// ---------------------------------------------------------------------------------------------

export interface StartRedisClusterOptions {
  /** Number of masters. At least 3, which `redis-cli --cluster create` requires. Default 3. */
  masters?: number;
  /** Replicas per master (`--cluster-replicas`): the cluster has `masters * (1 + replicas)` nodes. Default 0. */
  replicas?: number;
  /** Extra redis-server arguments for every node. */
  args?: readonly string[];
  /** `--cluster-node-timeout` in ms. Default 2000. */
  nodeTimeoutMs?: number;
  /** Bound for cluster creation and for every wait for `cluster_state:ok`. Default 20 s. */
  timeoutMs?: number;
}

/** A cluster node's role, as one node sees it (`CLUSTER NODES`). */
export interface ClusterNodeRole {
  /** The node's index in `servers`. */
  readonly index: number;
  readonly role: 'master' | 'replica';
  /** A replica's master (its index in `servers`); undefined for a master. */
  readonly masterIndex: number | undefined;
  /** How many slots it serves. */
  readonly slots: number;
  /** Flagged `fail` or `fail?` (unreachable). */
  readonly failing: boolean;
}

export interface RedisClusterHandle {
  /** Startup nodes, `[{ host, port }]`, e.g. for `new Cluster(nodes)`. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** The node servers (same order as `nodes`): pid, command(), info(), client(), pause()... */
  readonly servers: readonly RedisServer[];
  /** A new ioredis Cluster client, disconnected by `stop()`. */
  cluster(options?: ClusterOptions): Cluster;
  /**
   * kill -9 node `i`. Without replicas its slots are unavailable until restartNode; a master with
   * replicas is replaced by one of them (`waitForFailover`).
   */
  killNode(i: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Restarts node `i` on the same port and nodes.conf, then waits for cluster_state:ok. It rejoins
   * with its slots, or, if a replica took them over meanwhile, as that replica's replica.
   */
  restartNode(i: number): Promise<void>;
  /** Polls until every running node reports cluster_state:ok, all slots ok and all nodes known. */
  waitForClusterOk(timeoutMs?: number): Promise<void>;
  /** Every node's role (in `servers` order), as the first running node that answers sees them. */
  roles(): Promise<ClusterNodeRole[]>;
  /** The index (in `servers`) of the master serving `key`'s slot, as the first running node that answers sees it. */
  masterOf(key: string): Promise<number>;
  /**
   * After master `i` was killed: waits until one of its replicas serves its slots and the cluster
   * is ok again (`waitForClusterOk`), and returns that replica's index.
   */
  waitForFailover(i: number, timeoutMs?: number): Promise<number>;
  /** Polls until every running replica holds what its master had acknowledged when this was called. */
  waitForReplicas(timeoutMs?: number): Promise<void>;
  /** SCRIPT FLUSH on every running node. */
  flushScripts(): Promise<void>;
  /** Disconnects the handle's clients and stops every node. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * What a cluster and a sentinel setup share: several servers started together, clients to
 * disconnect, one stop for all.
 */
abstract class ServerGroup<C extends Redis | Cluster> {
  private readonly clients = new Set<C>();
  private stopped = false;

  constructor() {
    openHandles.add(this);
  }

  /** Every server of the group, in the order they are stopped. */
  protected abstract members(): readonly RedisServerImpl[];

  /** Disconnects `client` when the group stops. */
  protected track(client: C): C {
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  private async shutdown(force: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    openHandles.delete(this);
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
    await Promise.all(this.members().map((server) => (force ? server.forceStop() : server.stop())));
  }

  stop(): Promise<void> {
    return this.shutdown(false);
  }

  forceStop(): Promise<void> {
    return this.shutdown(true);
  }

  cleanupSync(): void {
    for (const server of this.members()) server.cleanupSync();
    openHandles.delete(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

class RedisClusterImpl extends ServerGroup<Cluster> implements RedisClusterHandle {
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /**
   * The roles last seen while every node ran (refreshed by killNode before it kills), so that
   * waitForFailover knows a dead master's replicas.
   */
  private knownRoles: ClusterNodeRole[] = [];

  constructor(
    readonly servers: readonly RedisServerImpl[],
    private readonly timeoutMs: number,
  ) {
    super();
    this.nodes = servers.map((server) => Object.freeze({ host: server.host, port: server.port }));
  }

  protected members(): readonly RedisServerImpl[] {
    return this.servers;
  }

  cluster(options: ClusterOptions = {}): Cluster {
    return this.track(
      new Cluster(
        this.nodes.map(({ host, port }) => ({ host, port })),
        options,
      ),
    );
  }

  private server(i: number): RedisServerImpl {
    const server = this.servers[i];
    if (!server) throw new RangeError(`redis-harness: no cluster node ${i} (have ${this.servers.length})`);
    return server;
  }

  async killNode(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const server = this.server(i);
    if (server.running && this.servers.every((s) => s.running)) {
      this.knownRoles = await this.roles().catch(() => this.knownRoles);
    }
    await server.kill(signal);
  }

  async restartNode(i: number): Promise<void> {
    const server = this.server(i);
    // What the others think it is: a master whose slots a replica took over comes back as a replica
    const seen = (await this.roles().catch(() => []))[i];
    await server.restart();
    if (seen !== undefined && (seen.role === 'replica' || seen.slots === 0)) {
      await poll(
        async () => {
          const views = await Promise.all(
            this.servers
              .filter((s) => s.running)
              .map((s) =>
                this.view(s).then(
                  (roles) => roles[i]?.role ?? 'unknown',
                  (e: Error) => e.message,
                ),
              ),
          );
          const masterIndex = (await this.view(server))[i]?.masterIndex;
          if (views.some((role) => role !== 'replica') || masterIndex === undefined) {
            return `seen as ${views.join(', ')}`;
          }
          return (await replicaLag(this.servers[masterIndex], server)) ?? true;
        },
        this.timeoutMs,
        `node ${i} did not come back as a replica`,
      );
    }
    await this.waitForClusterOk();
  }

  /** Why the running nodes are not all ok yet, or undefined once they are. */
  private async notOk(): Promise<string | undefined> {
    const states = await Promise.all(
      this.servers.map(async (server) => {
        if (!server.running) return undefined;
        try {
          const info = parseInfo(String(await server.command('CLUSTER', 'INFO')));
          const ok =
            info.cluster_state === 'ok' &&
            info.cluster_slots_ok === '16384' &&
            info.cluster_known_nodes === String(this.servers.length);
          return ok
            ? undefined
            : `${server.port}: state=${info.cluster_state} slots_ok=${info.cluster_slots_ok} known=${info.cluster_known_nodes}`;
        } catch (error) {
          return `${server.port}: ${(error as Error).message}`;
        }
      }),
    );
    const bad = states.filter((state) => state !== undefined);
    return bad.length === 0 ? undefined : bad.join('; ');
  }

  async waitForClusterOk(timeoutMs = this.timeoutMs): Promise<void> {
    await poll(async () => (await this.notOk()) ?? true, timeoutMs, 'cluster not ok');
  }

  async roles(): Promise<ClusterNodeRole[]> {
    let lastError: unknown = new Error('no cluster node is running');
    for (const server of this.servers) {
      if (!server.running) continue;
      try {
        return await this.view(server);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** Every node's role as `server` sees it, indexed like `servers`. */
  private async view(server: RedisServer): Promise<ClusterNodeRole[]> {
    const text = String(await server.command('CLUSTER', 'NODES'));
    const byId = new Map<string, { index: number; flags: string[]; masterId: string; slots: number }>();
    for (const line of text.split('\n')) {
      const [id, address, flags, masterId, , , , , ...slots] = line.trim().split(' ');
      if (id === undefined || address === undefined || flags === undefined) continue;
      const port = Number(/:(\d+)@/.exec(address)?.[1]);
      const index = this.nodes.findIndex((node) => node.port === port);
      if (index < 0) continue;
      let count = 0;
      for (const range of slots) {
        if (range.startsWith('[')) continue; // a slot being migrated or imported
        const [from, to = from] = range.split('-').map(Number);
        count += to - from + 1;
      }
      byId.set(id, { index, flags: flags.split(','), masterId: masterId ?? '-', slots: count });
    }
    const roles: ClusterNodeRole[] = [];
    for (const { index, flags, masterId, slots } of byId.values()) {
      roles[index] = {
        index,
        role: flags.includes('master') ? 'master' : 'replica',
        masterIndex: flags.includes('master') ? undefined : byId.get(masterId)?.index,
        slots,
        failing: flags.includes('fail') || flags.includes('fail?'),
      };
    }
    const unknown = this.nodes.filter((_, i) => roles[i] === undefined).map((node) => node.port);
    if (unknown.length > 0) throw new Error(`node ${server.port} does not know ${unknown.join(', ')}`);
    return roles;
  }

  async masterOf(key: string): Promise<number> {
    const running = this.servers.find((server) => server.running);
    if (!running) throw new Error('redis-harness: no cluster node is running');
    const slot = Number(await running.command('CLUSTER', 'KEYSLOT', key));
    const ranges = (await running.command('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    const index = this.nodes.findIndex((node) => node.port === Number(range?.[2][1]));
    if (index < 0) throw new Error(`redis-harness: no master serves slot ${slot} of ${key}`);
    return index;
  }

  async waitForFailover(i: number, timeoutMs = this.timeoutMs): Promise<number> {
    const replicas = this.knownRoles.filter((role) => role.masterIndex === i).map((role) => role.index);
    if (replicas.length === 0) throw new Error(`redis-harness: node ${i} had no replica to take over`);
    return poll(
      async () => {
        const roles = await this.roles();
        const promoted = replicas.find((r) => roles[r]?.role === 'master' && roles[r].slots > 0);
        if (promoted === undefined || (roles[i]?.slots ?? 0) > 0) return 'no replica serves its slots yet';
        return (await this.notOk()) ?? promoted;
      },
      timeoutMs,
      `no failover of node ${i}`,
    );
  }

  async waitForReplicas(timeoutMs = this.timeoutMs): Promise<void> {
    await poll(
      async () => {
        const roles = await this.roles();
        const lags = await Promise.all(
          roles
            .filter((role) => role.role === 'replica' && this.servers[role.index].running)
            .map((role) =>
              role.masterIndex === undefined
                ? `${this.nodes[role.index].port}: no master`
                : replicaLag(this.servers[role.masterIndex], this.servers[role.index]),
            ),
        );
        const bad = lags.filter((lag) => lag !== undefined);
        if (bad.length > 0) return bad.join('; ');
        this.knownRoles = roles;
        return true;
      },
      timeoutMs,
      'replicas not in sync',
    );
  }

  async flushScripts(): Promise<void> {
    await Promise.all(this.servers.filter((s) => s.running).map((server) => server.flushScripts()));
  }
}

function run(
  file: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error) {
        reject(
          new Error(
            `redis-harness: ${file} ${args.join(' ')} failed: ${error.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
          ),
        );
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/**
 * Starts `masters * (1 + replicas)` cluster-enabled redis-servers (ports chosen so that port +
 * 10000 is free too), joins them with `redis-cli --cluster create ... --cluster-replicas <replicas>
 * --cluster-yes`, and waits for cluster_state:ok on every node and for every replica to be in sync.
 * Which nodes are masters is redis-cli's choice: `roles()` tells.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new RangeError(`redis-harness: a cluster needs at least 3 masters, got ${masters}`);
  }
  const replicas = options.replicas ?? 0;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new RangeError(`redis-harness: replicas per master must be an integer >= 0, got ${replicas}`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLUSTER_TIMEOUT_MS;
  const nodeTimeout = String(options.nodeTimeoutMs ?? 2_000);
  const started = await Promise.allSettled(
    Array.from({ length: masters * (1 + replicas) }, () =>
      startServer({ cluster: true, args: options.args }, (dir) => [
        ...REPLICATION_ARGS,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        nodeTimeout,
      ]),
    ),
  );
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const handle = new RedisClusterImpl(servers, timeoutMs);
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    await run(
      REDIS_CLI,
      [
        '--cluster',
        'create',
        ...servers.map((server) => `${HOST}:${server.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      timeoutMs,
    );
    await handle.waitForClusterOk(timeoutMs);
    await handle.waitForReplicas(timeoutMs);
    return handle;
  } catch (error) {
    await handle.forceStop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Sentinel: a master, its replicas and the sentinels that promote one of them when it dies
// ---------------------------------------------------------------------------------------------

export interface StartRedisSentinelOptions {
  /** The name the sentinels monitor the master under (ioredis `name`). Default `'breakwater'`. */
  masterName?: string;
  /** Replicas of the master. Default 1. */
  replicas?: number;
  /** Sentinel processes. Default 1. */
  sentinels?: number;
  /** Sentinels that must agree that the master is down. Default: a majority of `sentinels`. */
  quorum?: number;
  /** `down-after-milliseconds`: how long the master may not answer before it is down. Default 1000. */
  downAfterMs?: number;
  /** `failover-timeout` (ms): how long a promotion may take before a sentinel tries again (after twice this). Default 3000. */
  failoverTimeoutMs?: number;
  /** Extra redis-server arguments for the master and the replicas. */
  args?: readonly string[];
  /** Bound for start-up and for every wait. Default 20 s. */
  timeoutMs?: number;
}

export interface RedisSentinelHandle {
  readonly masterName: string;
  /** Sentinel addresses for ioredis: `new Redis({ sentinels, name: masterName })`. */
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** The data servers: the first master, then its replicas. Roles change on failover: `master()` tells. */
  readonly servers: readonly RedisServer[];
  /** The sentinel processes (`command('SENTINEL', ...)`, kill...). */
  readonly sentinelServers: readonly RedisServer[];
  /** A new Sentinel client, `new Redis({ sentinels, name: masterName, ...options })`, disconnected by `stop()`. */
  client(options?: RedisOptions): Redis;
  /** The server the first sentinel that answers names as master (`SENTINEL GET-MASTER-ADDR-BY-NAME`). */
  master(): Promise<RedisServer>;
  /** kill -9 (or `signal`) the current master; returns it. */
  killMaster(signal?: NodeJS.Signals): Promise<RedisServer>;
  /**
   * Waits until every running sentinel names a master other than `from`, and that server reports
   * `role:master`; returns it.
   */
  waitForFailover(from: RedisServer, timeoutMs?: number): Promise<RedisServer>;
  /**
   * Restarts data server `i` (empty: nothing is persisted) as a replica of the current master, as
   * Sentinel would reconfigure it, and waits until it is in sync and every sentinel sees it.
   */
  restartServer(i: number): Promise<void>;
  /**
   * Polls until every running replica holds what the master had acknowledged when this was called,
   * and every running sentinel sees the replicas (and the other sentinels) as reachable.
   */
  waitForReplicas(timeoutMs?: number): Promise<void>;
  /** Disconnects the handle's clients and stops every server and sentinel. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A flat `[field, value, field, value...]` reply (SENTINEL MASTER, each of SENTINEL REPLICAS) as a record. */
export function fieldsOf(reply: RespValue): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!Array.isArray(reply)) return fields;
  for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1]);
  return fields;
}

class RedisSentinelImpl extends ServerGroup<Redis> implements RedisSentinelHandle {
  constructor(
    readonly masterName: string,
    readonly servers: readonly RedisServerImpl[],
    readonly sentinelServers: readonly RedisServerImpl[],
    private readonly timeoutMs: number,
  ) {
    super();
  }

  protected members(): readonly RedisServerImpl[] {
    return [...this.sentinelServers, ...this.servers];
  }

  get sentinels(): readonly { readonly host: string; readonly port: number }[] {
    return this.sentinelServers.map((s) => ({ host: s.host, port: s.port }));
  }

  client(options: RedisOptions = {}): Redis {
    return this.track(new Redis({ sentinels: [...this.sentinels], name: this.masterName, ...options }));
  }

  /** The master's port as each running sentinel names it. */
  private async namedMasters(): Promise<(number | string)[]> {
    return Promise.all(
      this.sentinelServers
        .filter((sentinel) => sentinel.running)
        .map(async (sentinel) => {
          try {
            const reply = await sentinel.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName);
            return Array.isArray(reply) ? Number(reply[1]) : `${sentinel.port}: no master`;
          } catch (error) {
            return `${sentinel.port}: ${(error as Error).message}`;
          }
        }),
    );
  }

  private byPort(port: number): RedisServerImpl {
    const server = this.servers.find((s) => s.port === port);
    if (!server) throw new Error(`redis-harness: the sentinels name ${HOST}:${port}, not one of ours`);
    return server;
  }

  async master(): Promise<RedisServer> {
    const port = (await this.namedMasters()).find((named) => typeof named === 'number');
    if (port === undefined) throw new Error('redis-harness: no sentinel names a master');
    return this.byPort(port);
  }

  async killMaster(signal: NodeJS.Signals = 'SIGKILL'): Promise<RedisServer> {
    const master = await this.master();
    await master.kill(signal);
    return master;
  }

  waitForFailover(from: RedisServer, timeoutMs = this.timeoutMs): Promise<RedisServer> {
    return poll(
      async () => {
        const named = await this.namedMasters();
        const why = named.find((n) => typeof n === 'string' || n === from.port);
        if (why !== undefined || named.length === 0) return `sentinels name ${named.join(', ')}`;
        if (new Set(named).size > 1) return `sentinels disagree: ${named.join(', ')}`;
        const master = this.byPort(named[0] as number);
        const info = await master.info('replication').catch((error: Error) => ({ role: error.message }));
        return info.role === 'master' ? master : `${master.port} is ${info.role}`;
      },
      timeoutMs,
      `no failover from ${from.port}`,
    );
  }

  async restartServer(i: number): Promise<void> {
    const server = this.servers[i];
    if (!server) throw new RangeError(`redis-harness: no data server ${i} (have ${this.servers.length})`);
    const master = await this.master();
    await server.restartWith(master === server ? [] : ['--replicaof', HOST, String(master.port)]);
    await this.waitForReplicas();
  }

  async waitForReplicas(timeoutMs = this.timeoutMs): Promise<void> {
    await poll(
      async () => {
        const master = await this.master();
        const replicas = this.servers.filter((server) => server.running && server !== master);
        const links = await Promise.all(replicas.map((replica) => replicaLag(master, replica)));
        const views = await Promise.all(
          this.sentinelServers
            .filter((sentinel) => sentinel.running)
            .map((sentinel) => this.sentinelSees(sentinel, replicas)),
        );
        const bad = [...links, ...views].filter((state) => state !== undefined);
        return bad.length === 0 ? true : bad.join('; ');
      },
      timeoutMs,
      'replicas not in sync',
    );
  }

  /** Why `sentinel` could not promote one of `replicas` yet (or undefined if it could). */
  private async sentinelSees(
    sentinel: RedisServerImpl,
    replicas: readonly RedisServer[],
  ): Promise<string | undefined> {
    try {
      const master = fieldsOf(await sentinel.command('SENTINEL', 'MASTER', this.masterName));
      const others = this.sentinelServers.filter((s) => s !== sentinel && s.running).length;
      if (Number(master['num-other-sentinels']) < others) {
        return `sentinel ${sentinel.port} knows ${master['num-other-sentinels']} other sentinels`;
      }
      const listed = await sentinel.command('SENTINEL', 'REPLICAS', this.masterName);
      const reachable = new Set(
        (Array.isArray(listed) ? listed : [])
          .map(fieldsOf)
          .filter((replica) => replica.flags === 'slave')
          .map((replica) => Number(replica.port)),
      );
      const missing = replicas.filter((replica) => !reachable.has(replica.port)).map((r) => r.port);
      return missing.length === 0
        ? undefined
        : `sentinel ${sentinel.port} cannot reach ${missing.join(', ')}`;
    } catch (error) {
      return `sentinel ${sentinel.port}: ${(error as Error).message}`;
    }
  }
}

/**
 * Starts a master, `replicas` replicas of it (`--replicaof`), and `sentinels` sentinels
 * (`redis-server sentinel.conf --sentinel`) monitoring it with short timings, so that a failover
 * after kill -9 of the master completes in a few seconds. Waits until the replicas are in sync and
 * every sentinel sees them (and the other sentinels), so a failover can start at once.
 */
export async function startRedisSentinel(
  options: StartRedisSentinelOptions = {},
): Promise<RedisSentinelHandle> {
  const masterName = options.masterName ?? 'breakwater';
  const replicas = options.replicas ?? 1;
  const sentinels = options.sentinels ?? 1;
  const quorum = options.quorum ?? Math.floor(sentinels / 2) + 1;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLUSTER_TIMEOUT_MS;
  if (!/^[A-Za-z0-9._-]+$/.test(masterName))
    throw new RangeError(`redis-harness: bad master name ${masterName}`);
  for (const [what, value, min] of [
    ['replicas', replicas, 1],
    ['sentinels', sentinels, 1],
    ['quorum', quorum, 1],
  ] as const) {
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(`redis-harness: ${what} must be an integer >= ${min}, got ${value}`);
    }
  }
  const servers: RedisServerImpl[] = [];
  const sentinelServers: RedisServerImpl[] = [];
  const handle = new RedisSentinelImpl(masterName, servers, sentinelServers, timeoutMs);
  const startAll = async (count: number, start: () => Promise<RedisServerImpl>, into: RedisServerImpl[]) => {
    const started = await Promise.allSettled(Array.from({ length: count }, start));
    for (const result of started) if (result.status === 'fulfilled') into.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const dataArgs = [...REPLICATION_ARGS, ...(options.args ?? [])];
  try {
    await startAll(1, () => startServer({ args: dataArgs }), servers);
    const master = servers[0];
    await startAll(
      replicas,
      () => startServer({ args: [...dataArgs, '--replicaof', HOST, String(master.port)] }),
      servers,
    );
    const config = [
      `sentinel monitor ${masterName} ${HOST} ${master.port} ${quorum}`,
      `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1_000}`,
      `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 3_000}`,
      `sentinel parallel-syncs ${masterName} ${replicas}`,
      '',
    ].join('\n');
    await startAll(
      sentinels,
      () => startServer({ configFile: { name: 'sentinel.conf', text: config }, args: ['--sentinel'] }),
      sentinelServers,
    );
    await handle.waitForReplicas(timeoutMs);
    return handle;
  } catch (error) {
    await handle.forceStop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Worker processes (fleet tests)
// ---------------------------------------------------------------------------------------------

/** The default shape of a worker message: a JSON object, conventionally with a `type`. */
export type WorkerMessage = { readonly type?: string; readonly [key: string]: unknown };

export interface WorkerHandle<M = WorkerMessage> {
  readonly pid: number;
  /** Every JSON message the worker printed so far, in order. */
  readonly messages: readonly M[];
  /** stderr plus any non-JSON stdout lines (tail), for diagnostics. */
  readonly output: string;
  /** The first message (already received or future) matching `predicate`. Rejects on timeout or worker exit. */
  waitFor(predicate: (message: M) => boolean, timeoutMs?: number): Promise<M>;
  /** The next message received AFTER this call matching `predicate`. Rejects on timeout or worker exit. */
  next(predicate?: (message: M) => boolean, timeoutMs?: number): Promise<M>;
  /** Writes one JSON line to the worker's stdin. Throws if the worker has exited. */
  send(message: unknown): void;
  /** Closes the worker's stdin (a worker-channel worker then exits). */
  end(): void;
  /** Exit code, or 128 + signal number when killed by a signal. */
  readonly exit: Promise<number>;
  /** Sends a signal (default SIGKILL) and resolves with the exit code (SIGKILL after 5 s if still alive). */
  kill(signal?: NodeJS.Signals): Promise<number>;
  /** Messages as they arrive (starting with those already received), ending when the worker exits. */
  [Symbol.asyncIterator](): AsyncIterator<M>;
  /** Closes stdin, waits up to 5 s for a clean exit, then kills. */
  [Symbol.asyncDispose](): Promise<void>;
}

export interface SpawnWorkerOptions {
  /** Default timeout for waitFor/next. Default 10 s. */
  timeoutMs?: number;
}

interface Waiter<M> {
  predicate: (message: M) => boolean;
  resolve: (message: M) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Runs a TypeScript worker: `node --conditions=breakwater-source --import tsx <script> ...args`,
 * cwd the repo root, env = process.env + `env`. Each stdout line that parses as a JSON object is
 * a message; `send()` writes JSON lines to its stdin.
 */
export function spawnWorker<M = WorkerMessage>(
  scriptPath: string | URL,
  args: readonly string[] = [],
  env: Readonly<Record<string, string | undefined>> = {},
  options: SpawnWorkerOptions = {},
): WorkerHandle<M> {
  const script = scriptPath instanceof URL ? fileURLToPath(scriptPath) : path.resolve(REPO_ROOT, scriptPath);
  const defaultTimeout = options.timeoutMs ?? DEFAULT_WAIT_MS;
  const child = spawn(
    process.execPath,
    ['--conditions=breakwater-source', '--import', 'tsx', script, ...args],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  liveWorkers.add(child);
  const label = `worker ${path.relative(REPO_ROOT, script)} (pid ${child.pid})`;

  const messages: M[] = [];
  const output = new LogTail(200);
  const waiters = new Set<Waiter<M>>();
  const listeners = new Set<() => void>();
  let exited: number | undefined;

  const exit = new Promise<number>((resolve) => {
    const settle = (code: number) => {
      if (exited !== undefined) return;
      exited = code;
      liveWorkers.delete(child);
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`${label} exited with ${code} before the awaited message.\n${tail()}`));
      }
      waiters.clear();
      for (const listener of listeners) listener();
      resolve(code);
    };
    child.once('close', (code, signal) =>
      settle(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0)),
    );
    child.once('error', (error) => {
      output.push(`spawn error: ${error.message}\n`);
      settle(127);
    });
  });

  const tail = () => `--- worker output tail ---\n${output.toString()}`;

  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stdin?.on('error', () => {
    // EPIPE after the worker died: surfaced by `exit`
  });
  if (child.stdout) {
    const lines = readline.createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        output.push(`${line}\n`);
        return;
      }
      if (typeof message !== 'object' || message === null) {
        output.push(`${line}\n`);
        return;
      }
      messages.push(message as M);
      for (const waiter of waiters) {
        if (waiter.predicate(message as M)) {
          waiters.delete(waiter);
          clearTimeout(waiter.timer);
          waiter.resolve(message as M);
        }
      }
      for (const listener of listeners) listener();
    });
  }

  const wait = (predicate: (message: M) => boolean, timeoutMs: number, what: string): Promise<M> =>
    new Promise<M>((resolve, reject) => {
      if (exited !== undefined) {
        reject(new Error(`${label} already exited with ${exited}; ${what} never arrived.\n${tail()}`));
        return;
      }
      const waiter: Waiter<M> = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          waiters.delete(waiter);
          const recent = messages.slice(-5).map((m) => JSON.stringify(m));
          reject(
            new Error(
              `${label}: ${what} did not arrive within ${timeoutMs} ms. Last messages: ${recent.join(' ')}\n${tail()}`,
            ),
          );
        }, timeoutMs),
      };
      waiters.add(waiter);
    });

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<number> => {
    if (exited === undefined) {
      try {
        child.kill(signal);
      } catch {
        // raced with exit
      }
      const timeout = sleep(DEFAULT_STOP_TIMEOUT_MS).then(() => undefined);
      if ((await Promise.race([exit, timeout])) === undefined) {
        sigkill(child);
      }
    }
    return exit;
  };

  return {
    get pid() {
      return child.pid ?? -1;
    },
    messages,
    get output() {
      return output.toString();
    },
    waitFor(predicate, timeoutMs = defaultTimeout) {
      const found = messages.find(predicate);
      return found !== undefined ? Promise.resolve(found) : wait(predicate, timeoutMs, 'a matching message');
    },
    next(predicate = () => true, timeoutMs = defaultTimeout) {
      return wait(predicate, timeoutMs, 'the next matching message');
    },
    send(message) {
      if (exited !== undefined || !child.stdin || child.stdin.destroyed) {
        throw new Error(`${label} has exited (${exited}); cannot send ${JSON.stringify(message)}`);
      }
      child.stdin.write(`${JSON.stringify(message)}\n`);
    },
    end() {
      child.stdin?.end();
    },
    exit,
    kill,
    [Symbol.asyncIterator](): AsyncIterator<M> {
      let index = 0;
      return {
        next: () =>
          new Promise<IteratorResult<M>>((resolve) => {
            const check = () => {
              if (index < messages.length) {
                listeners.delete(check);
                resolve({ value: messages[index++], done: false });
              } else if (exited !== undefined) {
                listeners.delete(check);
                resolve({ value: undefined, done: true });
              }
            };
            listeners.add(check);
            check();
          }),
      };
    },
    async [Symbol.asyncDispose]() {
      child.stdin?.end();
      const timeout = sleep(DEFAULT_STOP_TIMEOUT_MS).then(() => undefined);
      if ((await Promise.race([exit, timeout])) === undefined) await kill('SIGKILL');
    },
  };
}

/** SIGKILLs every worker this process spawned and waits for them to exit. */
export async function stopAllWorkers(): Promise<void> {
  await Promise.allSettled(
    [...liveWorkers].map((child) => terminate(child, 'SIGKILL', DEFAULT_STOP_TIMEOUT_MS)),
  );
}
