/**
 * Runs a fleet and returns its history, checked: starts Redis (standalone with AOF and
 * `appendfsync always`, so that kill -9 and a restart keep every acknowledged write; or a
 * 3-master Cluster), forces the probe breakers open, spawns the workers (`fleet-worker.ts`),
 * starts them together, injects the faults, stops them, reads each ledger breaker's shared window
 * through a fresh store, and hands the merged log to the checker.
 *
 * Times: every process calibrates its clock against Redis `TIME` (`redis-clock.ts`) and logs Redis
 * time. The tolerance is the worst calibration error of any worker (half its shortest round trip,
 * plus the drift between its calibrations before and after the run) plus 1 ms for the scripts'
 * whole-millisecond `now`.
 *
 * The trip bound is 0 ms beyond that tolerance. A permit Redis grants is decided by one atomic
 * script call, and that call carries the acquire only after the caller asked: the store batches
 * the operations of one event-loop turn and sends them in that same turn (so batching adds no
 * delay before the decision, only after it), and Redis runs it no earlier than it arrives. The
 * command timeout does not add to it either: a reply that comes later than `commandTimeout` is not
 * a Redis grant (the store falls back and the caller gets a local permit), and a grant that left
 * Redis before the trip belongs to a call that started before it. So every call that starts after
 * the trip and is granted by Redis before the open wait ends is a violation.
 */
import { Bulkhead, CircuitBreaker } from '@breakwater/core';
import { RedisStore } from '@breakwater/store-redis';
import type { Cluster, Redis } from 'ioredis';
import {
  type RedisServer,
  spawnWorker,
  startRedis,
  startRedisCluster,
  type WorkerHandle,
} from '../support/redis-harness.js';
import { checkHistory } from './checker.js';
import { type FaultKind, type FaultRecord, injectFaults, planFaults } from './fault-injector.js';
import { type FleetPlan, planFleet, policiesOf } from './fleet-plan.js';
import type { Deployment, WorkerDone } from './fleet-worker-main.js';
import type { History, PermitSource, Violation } from './history.js';
import { formatAt } from './history-format.js';
import { calibrate, clockError, monotonicNow } from './redis-clock.js';
import { SeededRandom } from './seeded-random.js';

const WORKER = new URL('./fleet-worker.ts', import.meta.url);
const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];
/** The scripts' `now` is Redis TIME truncated to whole ms. */
const WHOLE_MS = 1;
const TRIP_BOUND_MS = 0;

/** Mutations `mutation-hooks.mjs` knows: each breaks one invariant on purpose (see fleet-mutations.test.ts). */
export type MutationName = 'lua-extra-half-open-probe' | 'ts-bulkhead-full-admits';

export interface FleetRunOptions {
  readonly seed: number;
  readonly deployment: 'standalone' | 'cluster';
  readonly workers: number;
  readonly durationMs: number;
  readonly faults: readonly FaultKind[];
  readonly commandTimeout: number;
  readonly mutation?: MutationName;
}

export interface FleetRun {
  readonly options: FleetRunOptions;
  readonly plan: FleetPlan;
  readonly history: History;
  readonly violations: readonly Violation[];
  readonly faults: readonly FaultRecord[];
  readonly workers: readonly WorkerDone[];
  /** Permits (breakers, rate limiters, bulkheads) by policy and source. */
  readonly sources: Record<string, Partial<Record<PermitSource, number>>>;
  /** Bulkhead slots Redis still held once every worker had closed its stores (leaked until their lease expires). */
  readonly heldSlots: readonly { readonly name: string; readonly held: number }[];
  /** What the mutation hook reported from each worker. */
  readonly mutations: readonly unknown[];
}

type Message =
  | { type: 'ready'; mutation?: unknown }
  | { type: 'records'; key: keyof RecordParts; items: unknown[] }
  | WorkerDone;

interface RecordParts {
  permits: History['permits'][number][];
  rateGrants: History['rateGrants'][number][];
  leases: History['leases'][number][];
  observedStates: History['observedStates'][number][];
  transitions: History['transitions'][number][];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Started {
  readonly servers: readonly RedisServer[];
  readonly deployment: Deployment;
  client(): Redis | Cluster;
  restart(node: number): Promise<void>;
  stop(): Promise<void>;
}

async function startDeployment(kind: FleetRunOptions['deployment']): Promise<Started> {
  if (kind === 'standalone') {
    const server = await startRedis({ args: AOF });
    return {
      servers: [server],
      deployment: { kind, url: server.url },
      client: () => server.client(),
      restart: () => server.restart(),
      stop: () => server.stop(),
    };
  }
  const cluster = await startRedisCluster({ masters: 3, args: AOF });
  return {
    servers: cluster.servers,
    deployment: { kind, nodes: cluster.nodes },
    client: () => cluster.cluster(),
    restart: (node) => cluster.restartNode(node),
    stop: () => cluster.stop(),
  };
}

/** Runs `use` with a store that must reach Redis (a long timeout; a fallback answer would be no reading). */
async function withStore<T>(started: Started, use: (store: RedisStore) => Promise<T>): Promise<T> {
  const client = started.client();
  const store = new RedisStore({ client, commandTimeout: 5_000, processId: 'history-test' });
  let failed = 0;
  store.onOperation((op) => {
    if (!op.ok) failed++;
  });
  try {
    for (let attempt = 0; ; attempt++) {
      const before = failed;
      const result = await use(store);
      if (failed === before) return result;
      if (attempt >= 3) throw new Error('fleet-run: the test store could not reach Redis');
      await sleep(500);
    }
  } finally {
    await store.close();
    client.disconnect();
  }
}

/** Waits until every worker listens on the fleet channel (summed over the nodes of a cluster). */
async function waitForSubscribers(servers: readonly RedisServer[], count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const counts = await Promise.all(
      servers.map(async (s) =>
        Number(((await s.command('PUBSUB', 'NUMSUB', 'breakwater:events')) as unknown[])[1]),
      ),
    );
    if (counts.reduce((a, b) => a + b, 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`fleet-run: only ${counts} of ${count} workers subscribed`);
    await sleep(50);
  }
}

export async function runFleet(options: FleetRunOptions): Promise<FleetRun> {
  const random = new SeededRandom(options.seed);
  const plan = planFleet(options.seed, { commandTimeout: options.commandTimeout });
  const started = await startDeployment(options.deployment);
  const handles: WorkerHandle<Message>[] = [];
  try {
    const admin = started.servers[0];
    const calibration = await calibrate(async () => {
      const reply = (await admin.command('TIME')) as string[];
      return [reply[0], reply[1]] as const;
    });
    const now = () => monotonicNow() + calibration.offsetMs;

    await withStore(started, async (store) => {
      for (const b of plan.probeBreakers) {
        const cb = CircuitBreaker.of(b.name, b.config, { store });
        await cb.transitionToOpenState();
        cb.close();
      }
    });

    for (let worker = 0; worker < options.workers; worker++) {
      const config = { worker, deployment: started.deployment, plan, mutation: options.mutation };
      handles.push(spawnWorker<Message>(WORKER, [JSON.stringify(config)], {}, { timeoutMs: 30_000 }));
    }
    const ready = await Promise.all(handles.map((h) => h.waitFor((m) => m.type === 'ready')));
    const mutations = ready.map((m) => (m.type === 'ready' ? m.mutation : undefined));
    if (options.mutation !== undefined && !mutations.every((m) => (m as { applied?: string })?.applied)) {
      throw new Error(`fleet-run: mutation ${options.mutation} did not apply: ${JSON.stringify(mutations)}`);
    }
    await waitForSubscribers(started.servers, options.workers);

    const startedAt = now();
    const startedMono = performance.now();
    for (const h of handles) h.send({ type: 'start' });
    const schedule = planFaults(
      random.fork(2),
      options.faults,
      options.durationMs,
      started.servers.length,
      options.workers,
    );
    const faults = await injectFaults(
      {
        servers: started.servers,
        restart: (node) => started.restart(node),
        coldClient: (worker) => handles[worker].send({ type: 'cold-client' }),
        now,
      },
      schedule,
      startedMono,
    );
    const left = startedMono + options.durationMs - performance.now();
    if (left > 0) await sleep(left);

    const finished = handles.map((h) => h.waitFor((m) => m.type === 'done', 60_000));
    for (const h of handles) h.send({ type: 'stop' });
    const workers = (await Promise.all(finished)) as WorkerDone[];

    // Read after every worker closed its stores: the ledgers' shared windows, and (for the report)
    // the bulkhead slots still held in Redis, which nobody uses any more.
    const { buffered, heldSlots } = await withStore(started, async (store) => ({
      buffered: await Promise.all(
        plan.ledgerBreakers.map(async (b) => {
          const cb = CircuitBreaker.of(b.name, b.config, { store });
          const metrics = await cb.getMetrics();
          cb.close();
          return { name: b.name, buffered: metrics.numberOfBufferedCalls };
        }),
      ),
      heldSlots: await Promise.all(
        plan.bulkheads.map(async (b) => {
          const bh = Bulkhead.of(b.name, b.config, { store });
          const metrics = await bh.getMetrics();
          bh.close();
          return { name: b.name, held: metrics.maxAllowedConcurrentCalls - metrics.availableConcurrentCalls };
        }),
      ),
    }));

    const parts: RecordParts = {
      permits: [],
      rateGrants: [],
      leases: [],
      observedStates: [],
      transitions: [],
    };
    for (const h of handles) {
      for (const m of h.messages) {
        if (m.type === 'records') (parts[m.key] as unknown[]).push(...m.items);
      }
    }
    const toleranceMs =
      Math.max(...workers.map((w) => clockError(w.calibration.start, w.calibration.end))) + WHOLE_MS;
    const history: History = {
      seed: options.seed,
      startedAt,
      toleranceMs,
      tripBoundMs: TRIP_BOUND_MS,
      policies: policiesOf(plan),
      ...parts,
      ledger: workers.flatMap((w) => w.ledger),
      buffered,
    };
    return {
      options,
      plan,
      history,
      violations: checkHistory(history),
      faults,
      workers,
      sources: countSources(history),
      heldSlots,
      mutations,
    };
  } finally {
    for (const h of handles) h.end();
    await Promise.all(handles.map((h) => Promise.race([h.exit, sleep(5_000).then(() => h.kill())])));
    await started.stop();
  }
}

function countSources(history: History): Record<string, Partial<Record<PermitSource, number>>> {
  const counts: Record<string, Partial<Record<PermitSource, number>>> = {};
  for (const p of [...history.permits, ...history.rateGrants, ...history.leases]) {
    const byPolicy = counts[p.name] ?? {};
    byPolicy[p.source] = (byPolicy[p.source] ?? 0) + 1;
    counts[p.name] = byPolicy;
  }
  return counts;
}

/** A report of the run for an assertion message: the seed and how to replay, then what happened. */
export function describeRun(run: FleetRun): string {
  const { options, history } = run;
  const lines = [
    `seed ${options.seed} (replay: HISTORY_SEED=${options.seed} npx vitest run test/history/)`,
    `${options.deployment}, ${options.workers} workers, ${options.durationMs} ms, commandTimeout ${options.commandTimeout} ms` +
      (options.mutation ? `, mutation ${options.mutation}` : ''),
    `clock tolerance ${history.toleranceMs.toFixed(3)} ms`,
    `faults: ${run.faults.map((f) => `${f.kind}@${formatAt(f.startedAt, history.startedAt)}..${formatAt(f.endedAt, history.startedAt)}`).join(', ') || 'none'}`,
    `permits by source: ${JSON.stringify(run.sources)}`,
    `ledger: ${JSON.stringify(history.ledger)} buffered ${JSON.stringify(history.buffered)}`,
    ...history.policies.ledgerBreakers.map(
      (b) => `${b.name} outcomes by source: ${outcomeSources(history, b.name)}`,
    ),
    `transitions heard: ${history.transitions.length}, states observed: ${history.observedStates.length}`,
    `bulkhead slots held after every store closed: ${JSON.stringify(run.heldSlots)}`,
    `store events: ${JSON.stringify(storeEventCounts(run.workers))}`,
  ];
  const unexpected = run.workers.flatMap((w) => w.unexpected.map((u) => `worker ${w.worker}: ${u}`));
  if (unexpected.length > 0) lines.push(`unexpected errors:\n${unexpected.join('\n')}`);
  if (run.violations.length > 0) {
    lines.push(
      `violations:\n${run.violations.map((v) => `  [${v.invariant}] ${v.policy}: ${v.message}`).join('\n')}`,
    );
  }
  return lines.join('\n');
}

/** Outcomes recorded by the engine (the caller's call ended with one), by the source of their permit. */
function outcomeSources(history: History, name: string): string {
  const counts: Record<string, number> = {};
  for (const p of history.permits) {
    if (p.name !== name || (p.ending !== 'success' && p.ending !== 'failure')) continue;
    counts[p.source] = (counts[p.source] ?? 0) + 1;
  }
  return JSON.stringify(counts);
}

function storeEventCounts(workers: readonly WorkerDone[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const w of workers)
    for (const e of w.storeEvents) counts[e.type] = (counts[e.type] ?? 0) + (e.count ?? 1);
  return counts;
}
