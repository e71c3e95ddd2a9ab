/**
 * Faults injected while the fleet runs, one at a time, on a schedule drawn from the seed: every
 * kind asked for occurs at least once (in a random order), then random kinds while time is left.
 * Each fault is undone before the next begins, and the last one ends a second before the run does,
 * so that the stores can reach Redis again before the workers settle.
 */
import type { RedisServer } from '../support/redis-harness.js';
import type { SeededRandom } from './seeded-random.js';

export type FaultKind =
  /** CLIENT PAUSE <ms> WRITE: scripts (which write) wait, the connection stays up. */
  | 'client-pause-write'
  /** CLIENT PAUSE <ms> ALL. */
  | 'client-pause-all'
  /** SIGSTOP, then SIGCONT: a hung server. */
  | 'sigstop'
  /** kill -9, down for a while, then restart on the same port and data (AOF, fsync always). */
  | 'kill-restart'
  /** SCRIPT FLUSH: the next EVALSHA meets NOSCRIPT. */
  | 'script-flush'
  /** CONFIG SET maxmemory 1 for a while: every write is refused with OOM. */
  | 'oom'
  /** One worker swaps its client for a brand-new one (a cold Cluster client on a cluster). */
  | 'cold-client';

export interface PlannedFault {
  readonly kind: FaultKind;
  /** ms after the run starts. */
  readonly at: number;
  readonly holdMs: number;
  readonly node: number;
  readonly worker: number;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly node: number;
  readonly worker: number;
  /** Redis time. */
  readonly startedAt: number;
  readonly endedAt: number;
}

const HOLD_MS: Record<FaultKind, readonly [number, number]> = {
  'client-pause-write': [150, 600],
  'client-pause-all': [150, 600],
  sigstop: [150, 900],
  'kill-restart': [0, 400],
  'script-flush': [0, 0],
  oom: [200, 800],
  'cold-client': [0, 0],
};
const FIRST_AT_MS = 600;
const GAP_MS: readonly [number, number] = [250, 700];
const QUIET_END_MS = 1_000;

export function planFaults(
  random: SeededRandom,
  kinds: readonly FaultKind[],
  durationMs: number,
  nodes: number,
  workers: number,
): PlannedFault[] {
  const planned: PlannedFault[] = [];
  let at = FIRST_AT_MS;
  const queue = random.shuffle(kinds);
  while (kinds.length > 0) {
    const kind = queue.shift() ?? random.pick(kinds);
    const [min, max] = HOLD_MS[kind];
    const holdMs = random.int(min, max);
    // a restart takes its own time on top of the hold: budget a second for it
    const cost = holdMs + (kind === 'kill-restart' ? 1_000 : 0);
    if (at + cost > durationMs - QUIET_END_MS) {
      if (queue.length === 0) break;
      continue; // a shorter kind may still fit
    }
    planned.push({ kind, at, holdMs, node: random.int(0, nodes - 1), worker: random.int(0, workers - 1) });
    at += cost + random.int(GAP_MS[0], GAP_MS[1]);
  }
  return planned;
}

export interface FaultTarget {
  readonly servers: readonly RedisServer[];
  /** Restarts node `i` after a kill (and, on a cluster, waits until it serves its slots again). */
  restart(node: number): Promise<void>;
  coldClient(worker: number): void;
  /** Redis time now. */
  now(): number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function inject(target: FaultTarget, fault: PlannedFault): Promise<void> {
  const server = target.servers[fault.node];
  const hold = fault.holdMs;
  switch (fault.kind) {
    case 'client-pause-write':
    case 'client-pause-all':
      await server.command(
        'CLIENT',
        'PAUSE',
        String(hold),
        fault.kind === 'client-pause-all' ? 'ALL' : 'WRITE',
      );
      await sleep(hold);
      return;
    case 'sigstop':
      await server.pause();
      try {
        await sleep(hold);
      } finally {
        await server.resume();
      }
      return;
    case 'kill-restart':
      await server.kill('SIGKILL');
      await sleep(hold);
      await target.restart(fault.node);
      return;
    case 'script-flush':
      await Promise.all(target.servers.map((s) => s.flushScripts()));
      return;
    case 'oom':
      await server.command('CONFIG', 'SET', 'maxmemory', '1');
      try {
        await sleep(hold);
      } finally {
        await server.command('CONFIG', 'SET', 'maxmemory', '0');
      }
      return;
    case 'cold-client':
      target.coldClient(fault.worker);
      return;
  }
}

/** Runs the schedule from `startedAt` (the monotonic clock of `performance.now()`), one fault at a time. */
export async function injectFaults(
  target: FaultTarget,
  plan: readonly PlannedFault[],
  startedAt: number,
): Promise<FaultRecord[]> {
  const done: FaultRecord[] = [];
  for (const fault of plan) {
    const wait = startedAt + fault.at - performance.now();
    if (wait > 0) await sleep(wait);
    const begin = target.now();
    await inject(target, fault);
    done.push({
      kind: fault.kind,
      node: fault.node,
      worker: fault.worker,
      startedAt: begin,
      endedAt: target.now(),
    });
  }
  return done;
}
