/**
 * One worker of the fleet (spawned by `fleet-run.ts` through `fleet-worker.ts`): it drives the
 * plan's policies with randomized calls from several lanes, each call through the public API
 * (`execute`, `acquirePermission`) on policies whose store is a `RecordingStore` around a
 * RedisStore, and logs every permit, outcome and observed state on Redis's clock.
 *
 * Protocol (JSON lines): -> `ready` once connected and calibrated; <- `start`: the lanes begin, on
 * a fresh client (cold: no warm-up); <- `cold-client`: later calls go through a brand-new client and
 * stores, the old ones close once their calls are over; <- `stop`: the lanes finish their calls,
 * the stores get the chance to reach Redis again and are closed, then the log goes out in
 * `records` messages and a final `done`.
 */
import {
  Bulkhead,
  BulkheadFullError,
  CallNotPermittedError,
  CircuitBreaker,
  RateLimiter,
  RequestNotPermittedError,
} from '@breakwater/core';
import { RedisStore } from '@breakwater/store-redis';
import { Cluster, Redis } from 'ioredis';
import { workerChannel } from '../support/worker-channel.js';
import type { BreakerPlan, FleetPlan, Range } from './fleet-plan.js';
import type { FleetTransition, LedgerCount, ObservedState } from './history.js';
import { RecordingStore, WorkerLog } from './recording-store.js';
import { type Calibration, calibrate, monotonicNow } from './redis-clock.js';
import { SeededRandom } from './seeded-random.js';

export type Deployment =
  | { readonly kind: 'standalone'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly { readonly host: string; readonly port: number }[] };

export interface WorkerConfig {
  readonly worker: number;
  readonly deployment: Deployment;
  readonly plan: FleetPlan;
}

export type WorkerIn =
  | { readonly type: 'start' }
  | { readonly type: 'cold-client' }
  | { readonly type: 'stop' };

/** A store event as the worker logs it (OUTCOMES_DROPPED is read by shape: older stores lack the type). */
export interface LoggedStoreEvent {
  readonly type: string;
  readonly at: number;
  readonly policy?: string;
  readonly count?: number;
}

export interface WorkerDone {
  readonly type: 'done';
  readonly worker: number;
  readonly ledger: readonly LedgerCount[];
  readonly refusals: Record<string, number>;
  readonly storeEvents: readonly LoggedStoreEvent[];
  readonly unexpected: readonly string[];
  readonly calibration: { readonly start: Calibration; readonly end: Calibration };
  readonly sessions: number;
}

/** The downstream failing, as the workload decides. */
class DownstreamError extends Error {
  override name = 'DownstreamError';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const GRACE_BEFORE_CLOSE_MS = 1_500;
const SETTLE_LIMIT_MS = 4_000;
const CHUNK = 2_000;

function newClient(deployment: Deployment): Redis | Cluster {
  const retryStrategy = () => 50;
  const client =
    deployment.kind === 'standalone'
      ? new Redis(deployment.url, { retryStrategy, lazyConnect: false })
      : new Cluster(
          deployment.nodes.map((n) => ({ host: n.host, port: n.port })),
          { clusterRetryStrategy: retryStrategy },
        );
  client.on('error', () => {
    // connection trouble is what the run is about: the store reports it
  });
  return client;
}

/** One client with its stores and policies; a cold-client fault replaces the current one. */
class Session {
  readonly client: Redis | Cluster;
  readonly stores: RedisStore[] = [];
  readonly breakers = new Map<string, CircuitBreaker>();
  readonly limiters = new Map<string, RateLimiter>();
  readonly bulkheads = new Map<string, Bulkhead>();

  constructor(
    config: WorkerConfig,
    log: WorkerLog,
    onEvent: (event: LoggedStoreEvent) => void,
    readonly id: number,
  ) {
    const { plan } = config;
    this.client = newClient(config.deployment);
    const store = () => {
      const s = new RedisStore({
        client: this.client,
        commandTimeout: plan.store.commandTimeout,
        halfOpenLeaseMs: plan.store.halfOpenLeaseMs,
        processId: `worker-${config.worker}.${id}`,
      });
      s.onEvent((e) => {
        const raw = e as unknown as { type: string; policy?: unknown; count?: unknown };
        onEvent({
          type: raw.type,
          at: log.now(),
          ...(typeof raw.policy === 'string' ? { policy: raw.policy } : {}),
          ...(typeof raw.count === 'number' ? { count: raw.count } : {}),
        });
      });
      this.stores.push(s);
      return new RecordingStore(s, log);
    };
    // breakers and bulkheads share one store; each rate limiter has its own (see permit-source.ts)
    const main = store();
    for (const b of [...plan.probeBreakers, ...plan.tripBreakers, ...plan.ledgerBreakers]) {
      this.breakers.set(b.name, CircuitBreaker.of(b.name, b.config, { store: main }));
    }
    for (const b of plan.bulkheads)
      this.bulkheads.set(b.name, Bulkhead.of(b.name, b.config, { store: main }));
    for (const r of plan.rateLimiters)
      this.limiters.set(r.name, RateLimiter.of(r.name, r.config, { store: store() }));
  }

  /** Reads through every policy until each store's guard lets calls through to Redis again. */
  async settle(deadline: number): Promise<void> {
    for (;;) {
      await Promise.allSettled([
        ...[...this.breakers.values()].map((cb) => cb.getMetrics()),
        ...[...this.limiters.values()].map((rl) => rl.getMetrics()),
        ...[...this.bulkheads.values()].map((bh) => bh.getMetrics()),
      ]);
      const guards = await Promise.all(this.stores.map((s) => s.guardState()));
      if (guards.every((g) => g === 'CLOSED') || Date.now() > deadline) return;
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    for (const cb of this.breakers.values()) cb.close();
    for (const rl of this.limiters.values()) rl.close();
    for (const bh of this.bulkheads.values()) bh.close();
    await Promise.allSettled(this.stores.map((s) => s.close()));
    this.client.disconnect();
  }
}

export async function runWorker(config: WorkerConfig, mutation: Promise<unknown> | undefined): Promise<void> {
  const channel = workerChannel<WorkerIn>();
  const { plan, worker } = config;
  const random = new SeededRandom(plan.seed).fork(1 + worker);
  const unexpected: string[] = [];
  const noteUnexpected = (what: string, error: unknown) => {
    if (unexpected.length < 20)
      unexpected.push(`${what}: ${error instanceof Error ? error.stack : String(error)}`);
  };
  process.on('unhandledRejection', (reason) => noteUnexpected('unhandled rejection', reason));

  // A plain client of its own for TIME (calibration) and one observer store for the fleet channel.
  const timeClient = newClient(config.deployment);
  const start = await calibrate(() => timeClient.time() as unknown as Promise<[string, string]>);
  const log = new WorkerLog(worker, () => monotonicNow() + start.offsetMs);
  const transitions: FleetTransition[] = [];
  const observer = new RedisStore({
    client: timeClient,
    processId: `observer-${worker}`,
    commandTimeout: 2_000,
  });
  observer.onFleetTransition((m) => {
    for (const t of m.transitions)
      transitions.push({ name: m.name, from: t.from, to: t.to, at: t.at, until: t.until });
  });
  const applied = mutation === undefined ? undefined : await mutation;
  channel.send({ type: 'ready', worker, calibration: start, mutation: applied });

  const storeEvents: LoggedStoreEvent[] = [];
  const ledgerNames = new Set(plan.ledgerBreakers.map((b) => b.name));
  const observed = new Map<string, number>();
  const dropped = new Map<string, number>();
  const onEvent = (event: LoggedStoreEvent) => {
    storeEvents.push(event);
    if (event.type !== 'OUTCOMES_DROPPED' || event.policy === undefined) return;
    // the policy may be named bare or with its kind (`circuitBreaker:<name>`)
    const name = [...ledgerNames].find((n) => event.policy === n || event.policy?.endsWith(`:${n}`));
    if (name !== undefined) dropped.set(name, (dropped.get(name) ?? 0) + (event.count ?? 0));
  };

  const sessions: Session[] = [];
  let current: Session | undefined;
  let running = false;
  const lanes: Promise<void>[] = [];
  const observedStates: ObservedState[] = [];
  const startedAt = monotonicNow();
  const between = (range: Range, r = random) => r.int(range[0], range[1]);
  const pause = () => sleep(between(plan.pauseMs));

  /** A lane: calls `call` until the run stops; an error that is not `refusal` is unexpected. */
  const lane = (
    what: string,
    refusal: (error: unknown) => boolean,
    call: (r: SeededRandom) => Promise<unknown>,
  ) => {
    const r = random.fork(1_000 + lanes.length);
    lanes.push(
      (async () => {
        while (running) {
          try {
            await call(r);
          } catch (error) {
            if (!refusal(error)) noteUnexpected(what, error);
          }
          await pause();
        }
      })(),
    );
  };
  const observe = (name: string) => {
    if (ledgerNames.has(name)) observed.set(name, (observed.get(name) ?? 0) + 1);
  };

  const breakerCall = (b: BreakerPlan) => async (r: SeededRandom) => {
    const phase = Math.floor((monotonicNow() - startedAt) / b.phaseMs) % b.failureChances.length;
    const fail = r.chance(b.failureChances[phase]);
    const ms = between(b.callMs, r);
    try {
      await current!.breakers.get(b.name)!.execute(async () => {
        await sleep(ms);
        if (fail) throw new DownstreamError('down');
        return ms;
      });
    } catch (error) {
      if (!(error instanceof DownstreamError)) throw error;
    }
    // a success or the downstream's failure: an outcome the caller saw
    observe(b.name);
  };

  const run = () => {
    for (const b of [...plan.probeBreakers, ...plan.tripBreakers, ...plan.ledgerBreakers]) {
      for (let i = 0; i < b.lanes; i++) {
        lane(`${b.name} call`, (e) => e instanceof CallNotPermittedError, breakerCall(b));
      }
    }
    for (const l of plan.rateLimiters) {
      for (let i = 0; i < l.lanes; i++) {
        lane(
          `${l.name} acquire`,
          (e) => e instanceof RequestNotPermittedError,
          (r) => current!.limiters.get(l.name)!.acquirePermission(r.int(1, l.maxPermits)),
        );
      }
    }
    for (const bh of plan.bulkheads) {
      for (let i = 0; i < bh.lanes; i++) {
        lane(
          `${bh.name} call`,
          (e) => e instanceof BulkheadFullError,
          (r) => current!.bulkheads.get(bh.name)!.execute(() => sleep(between(bh.callMs, r))),
        );
      }
    }
    lanes.push(
      (async () => {
        while (running) {
          await Promise.all(
            [...current!.breakers.entries()].map(async ([name, cb]) => {
              const calledAt = log.now();
              try {
                const state = await cb.getState();
                observedStates.push({ name, worker, calledAt, resolvedAt: log.now(), state });
              } catch (error) {
                noteUnexpected(`${name} getState`, error);
              }
            }),
          );
          await sleep(plan.stateEveryMs);
        }
      })(),
    );
  };

  const newSession = () => {
    const session = new Session(config, log, onEvent, sessions.length);
    sessions.push(session);
    return session;
  };
  const closing: Promise<void>[] = [];

  channel.onMessage(async (message) => {
    switch (message.type) {
      case 'start':
        current = newSession();
        running = true;
        run();
        return;
      case 'cold-client': {
        if (!running || current === undefined) return;
        const old = current;
        current = newSession();
        // the old session's calls end within the grace; then it closes (its events still count)
        closing.push(sleep(GRACE_BEFORE_CLOSE_MS).then(() => old.close()));
        return;
      }
      case 'stop': {
        running = false;
        await Promise.all(lanes);
        await Promise.all(closing);
        if (current !== undefined) await current.settle(Date.now() + SETTLE_LIMIT_MS);
        await sleep(200);
        await current?.close();
        await observer.close();
        const end = await calibrate(() => timeClient.time() as unknown as Promise<[string, string]>);
        timeClient.disconnect();
        const parts = {
          permits: log.permits,
          rateGrants: log.rateGrants,
          leases: log.leases,
          observedStates,
          transitions,
        };
        for (const [key, items] of Object.entries(parts)) {
          for (let i = 0; i < items.length; i += CHUNK) {
            channel.send({ type: 'records', key, items: items.slice(i, i + CHUNK) });
          }
        }
        const done: WorkerDone = {
          type: 'done',
          worker,
          ledger: plan.ledgerBreakers.map((b) => ({
            name: b.name,
            worker,
            observed: observed.get(b.name) ?? 0,
            dropped: dropped.get(b.name) ?? 0,
          })),
          refusals: Object.fromEntries(log.refusals),
          storeEvents,
          unexpected,
          calibration: { start, end },
          sessions: sessions.length,
        };
        channel.send(done);
        return;
      }
    }
  });
}
