/**
 * The story: three worker processes share the circuit breaker of the inventory API through Redis.
 * All is well; then worker w2's downstream starts failing and its failures open the breaker for
 * everyone: w1 and w3 are refused at once, without touching the API, and hear of it over pub/sub.
 * After the open wait one probe goes through, succeeds, and the whole fleet is CLOSED again.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CircuitBreakerStateName } from '@breakwater/core';
import type { ScenarioOptions } from '../scenario-options.js';
import { startLocalRedis } from './local-redis.js';
import {
  BREAKER_CONFIG,
  BREAKER_NAME,
  type CallOutcome,
  type FromWorker,
  type ToWorker,
} from './protocol.js';

export const WORKERS = ['w1', 'w2', 'w3'] as const;
export type WorkerName = (typeof WORKERS)[number];

export interface CallRecord {
  readonly phase: 'healthy' | 'w2 broken' | 'open' | 'recovery' | 'recovered';
  readonly worker: WorkerName;
  readonly outcome: CallOutcome;
  readonly reachedDownstream: boolean;
  readonly state: CircuitBreakerStateName;
  /** Transitions of the shared breaker made during the call, `FROM -> TO`. */
  readonly transitions: readonly string[];
}

export interface ScenarioResult {
  readonly redisUrl: string;
  readonly calls: readonly CallRecord[];
  /** Transitions each worker heard over pub/sub, as `origin: FROM->TO`. */
  readonly heard: Readonly<Record<WorkerName, readonly string[]>>;
  readonly finalStates: Readonly<Record<WorkerName, CircuitBreakerStateName>>;
}

export interface RunOptions extends ScenarioOptions {
  /** A Redis to use; default `REDIS_URL`, or a redis-server started (and stopped) for the run. */
  readonly redisUrl?: string;
  /** Node flags for the workers; default: load TypeScript with tsx, plus this process's `--conditions`. */
  readonly workerExecArgv?: readonly string[];
}

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.ts', import.meta.url));

class Worker {
  private readonly child: ChildProcess;
  private readonly waiting: ((m: FromWorker) => boolean)[] = [];
  readonly exited: Promise<void>;

  constructor(
    readonly name: WorkerName,
    url: string,
    execArgv: readonly string[],
    onHeard: (m: Extract<FromWorker, { type: 'heard' }>) => void,
  ) {
    this.child = fork(WORKER_SCRIPT, [name, url], { execArgv: [...execArgv], stdio: 'inherit' });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('message', (m: FromWorker) => {
      if (m.type === 'heard') onHeard(m);
      const i = this.waiting.findIndex((accept) => accept(m));
      if (i >= 0) this.waiting.splice(i, 1);
    });
  }

  /** The next message of `type` (within 10 s). */
  next<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no '${type}' within 10 s`)), 10_000);
      this.waiting.push((m) => {
        if (m.type !== type) return false;
        clearTimeout(timer);
        resolve(m as Extract<FromWorker, { type: T }>);
        return true;
      });
    });
  }

  send(message: ToWorker): void {
    this.child.send(message);
  }

  async call(broken = false): Promise<Extract<FromWorker, { type: 'result' }>> {
    const result = this.next('result');
    this.send({ type: 'call', broken });
    return result;
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.send({ type: 'exit' });
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(killer);
  }
}

function defaultExecArgv(): string[] {
  return ['--import', 'tsx', ...process.execArgv.filter((a) => a.startsWith('--conditions'))];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function run(options: RunOptions = {}): Promise<ScenarioResult> {
  const log = options.log ?? (() => {});
  const local = (options.redisUrl ?? process.env.REDIS_URL) ? undefined : await startLocalRedis();
  const url = options.redisUrl ?? process.env.REDIS_URL ?? local!.url;
  log(`Redis: ${url}${local ? ' (a redis-server started for this demo)' : ''}`);

  const heard: Record<WorkerName, string[]> = { w1: [], w2: [], w3: [] };
  /** Pub/sub news not yet told: transition -> the workers that heard it. */
  const news = new Map<string, WorkerName[]>();
  const tellNews = () => {
    for (const [transition, by] of news)
      log(`  (pub/sub) ${transition}, heard by ${[...by].sort().join(', ')}`);
    news.clear();
  };
  const calls: CallRecord[] = [];
  const workers = WORKERS.map(
    (name) =>
      new Worker(name, url, options.workerExecArgv ?? defaultExecArgv(), (m) => {
        heard[name].push(`${m.origin}: ${m.from}->${m.to}`);
        const transition = `${m.origin} moved the breaker ${m.from} -> ${m.to}`;
        news.set(transition, [...(news.get(transition) ?? []), name]);
      }),
  );
  const [w1, w2, w3] = workers;
  try {
    await Promise.all(workers.map((w) => w.next('ready')));
    log(
      `3 worker processes share the breaker '${BREAKER_NAME}' (window ${BREAKER_CONFIG.slidingWindowSize} calls, opens at >= 50% failures)\n`,
    );

    const call = async (phase: CallRecord['phase'], w: Worker, broken = false) => {
      const r = await w.call(broken);
      calls.push({
        phase,
        worker: w.name,
        outcome: r.outcome,
        reachedDownstream: r.reachedDownstream,
        state: r.state,
        transitions: r.transitions,
      });
      // made during the call, so before its result (the fleet hears of them later, by pub/sub)
      for (const t of r.transitions) log(`      [breaker ${t}, during ${w.name}'s call]`);
      const what = {
        ok: 'ok',
        failed: 'failed (503 from its downstream)',
        refused: 'refused by the breaker, the API was not called',
      }[r.outcome];
      log(`  ${w.name}: call ${what.padEnd(46)} shared state ${r.state}`);
      return r;
    };

    log('1. all healthy');
    for (const w of workers) await call('healthy', w);

    log("\n2. w2's path to the inventory API breaks");
    for (let i = 0; i < 10; i++) {
      const r = await call('w2 broken', w2, true);
      if (r.state === 'OPEN') break;
    }
    await sleep(50); // pub/sub messages arrive
    tellNews();

    log('\n3. every worker sees OPEN: the failing API is left alone fleet-wide');
    for (const w of [w1, w3, w2]) await call('open', w);

    log(
      `\n4. after the open wait (${BREAKER_CONFIG.waitDurationInOpenState} ms) the API is healthy again: one probe, from w3`,
    );
    await sleep(BREAKER_CONFIG.waitDurationInOpenState as number);
    await call('recovery', w3);
    await sleep(50);
    tellNews();

    log('\n5. the fleet recovered');
    for (const w of workers) await call('recovered', w);

    const finalStates = Object.fromEntries(
      calls.filter((c) => c.phase === 'recovered').map((c) => [c.worker, c.state]),
    ) as Record<WorkerName, CircuitBreakerStateName>;
    return { redisUrl: url, calls, heard, finalStates };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await local?.stop();
  }
}
