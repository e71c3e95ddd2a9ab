/**
 * The child process of `memory.test.ts`: runs one scenario on a MemoryStore and prints one JSON
 * line with what it measured. Run with `node --expose-gc --conditions=breakwater-source --import tsx`
 * so that `gc()` exists and the workspace packages resolve to their sources.
 *
 * Heap figures are `heapUsed` after full collections with the event loop turning between them,
 * as in a real process that goes on running (FinalizationRegistry callbacks run in such turns).
 */
import {
  Bulkhead,
  CircuitBreaker,
  type CircuitBreakerEvent,
  type Clock,
  ManualClock,
  RateLimiter,
} from '@breakwater/core';
import { MemoryStore } from '@breakwater/store-memory';
import type { HeapReport } from './heap-report.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('memory-child: run node with --expose-gc');
const collect: () => void = gc;

const T0 = 1_700_000_000_000;
const MB = 1024 * 1024;

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

/** heapUsed once the garbage is gone: collections with turns of the event loop between them. */
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    collect();
    await turn();
  }
  collect();
  return process.memoryUsage().heapUsed;
}

type Kind = 'breaker' | 'rateLimiter' | 'bulkhead';

/** Creates a policy of `kind` named `name` on `store` and runs one call through it, as a user would. */
async function useOnce(kind: Kind, name: string, store: MemoryStore, clock: Clock): Promise<void> {
  if (kind === 'breaker') {
    const cb = CircuitBreaker.of(name, { slidingWindowSize: 10, minimumNumberOfCalls: 10 }, { store, clock });
    await cb.execute(() => 1);
  } else if (kind === 'rateLimiter') {
    const rl = RateLimiter.of(
      name,
      { limitForPeriod: 10, limitRefreshPeriod: 1000, timeoutDuration: 0 },
      { store, clock },
    );
    await rl.execute(() => 1);
  } else {
    const bh = Bulkhead.of(name, { maxConcurrentCalls: 2 }, { store, clock });
    await bh.execute(() => 1);
  }
}

/** Runs code paths once on a throwaway store, so that compiled code is not counted as retained state. */
async function warmUp(kind: Kind): Promise<void> {
  const clock = new ManualClock(T0);
  const store = new MemoryStore();
  for (let i = 0; i < 2_000; i++) await useOnce(kind, `warm-${i}`, store, clock);
  store.clear();
}

const round = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

function report(baseline: number, peak: number, after: number, size: number): HeapReport {
  return {
    baselineMB: round(baseline),
    peakMB: round(peak),
    afterMB: round(after),
    deltaMB: round(after - baseline),
    size,
  };
}

/** `count` names of `kind`, each used once and then no longer referenced, then `clear()`. */
async function clearScenario(kind: Kind, count: number): Promise<HeapReport> {
  await warmUp(kind);
  const clock = new ManualClock(T0);
  const store = new MemoryStore();
  const baseline = await settledHeap();
  for (let i = 0; i < count; i++) await useOnce(kind, `tenant-${i}`, store, clock);
  const peak = await settledHeap();
  store.clear();
  const after = await settledHeap();
  return report(baseline, peak, after, store.size);
}

/**
 * `count` names of `kind` on a store with a short idle timeout, each used once and never closed;
 * time passes beyond the timeout and one new name comes (which sweeps the idle ones, as it would
 * in a running service).
 */
async function idleScenario(kind: Kind, count: number): Promise<HeapReport> {
  await warmUp(kind);
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ idleTimeoutMs: 1_000 });
  const baseline = await settledHeap();
  for (let i = 0; i < count; i++) await useOnce(kind, `tenant-${i}`, store, clock);
  const peak = await settledHeap();
  clock.advance(10_000);
  await useOnce(kind, 'newcomer', store, clock);
  const after = await settledHeap();
  return report(baseline, peak, after, store.size);
}

/**
 * One breaker on 'shared' stays referenced and in use; `count` more breakers of that name are
 * created per request, used once and dropped without close(), as careless code does. The name
 * never goes idle, so nothing expires: only what the store holds of the dropped breakers counts.
 */
async function sharedNameScenario(count: number): Promise<HeapReport> {
  await warmUp('breaker');
  const clock = new ManualClock(T0);
  const store = new MemoryStore();
  const kept = CircuitBreaker.of(
    'shared',
    { slidingWindowSize: 10, minimumNumberOfCalls: 10 },
    { store, clock },
  );
  await kept.execute(() => 1);
  const baseline = await settledHeap();
  for (let i = 0; i < count; i++) {
    await useOnce('breaker', 'shared', store, clock);
    clock.advance(1);
  }
  const peak = await settledHeap();
  await kept.execute(() => 1);
  const after = await settledHeap();
  return report(baseline, peak, after, store.size);
}

/**
 * A breaker that stays referenced keeps hearing its shared state after its cell expired and was
 * collected: another breaker of the name trips it, and the first one gets the transition event
 * without making a call itself.
 */
async function referencedHearsScenario(): Promise<{ transitions: string[]; state: string }> {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ idleTimeoutMs: 1_000 });
  const config = { slidingWindowSize: 4, minimumNumberOfCalls: 4 };
  const listener = CircuitBreaker.of('payments', config, { store, clock });
  const transitions: string[] = [];
  listener.onEvent((e: CircuitBreakerEvent) => {
    if (e.type === 'STATE_TRANSITION') transitions.push(`${e.from}->${e.to}`);
  });
  await listener.execute(() => 1);
  clock.advance(10_000);
  store.sweep(clock.now()); // the cell of 'payments' is dropped
  await settledHeap(); // and whatever only it held is collected
  const other = CircuitBreaker.of('payments', config, { store, clock });
  for (let i = 0; i < 4; i++) {
    await other
      .execute(() => {
        throw new Error('down');
      })
      .catch(() => {});
  }
  await settledHeap();
  return { transitions, state: await other.getState() };
}

/**
 * Cost of a new name on a full store of `small` names against one of `large` names, in
 * interleaved rounds. Eviction that scans every cell makes the large store's cost grow with its
 * size; the ratio of medians says whether it does.
 */
async function evictionScenario(small: number, large: number, perRound: number, rounds: number) {
  const clock = new ManualClock(T0);
  const fill = async (size: number) => {
    const store = new MemoryStore({ maxSize: size });
    for (let i = 0; i < size; i++) await useOnce('breaker', `fill-${i}`, store, clock);
    return store;
  };
  const stores = { small: await fill(small), large: await fill(large) };
  let next = 0;
  const timeRound = async (store: MemoryStore) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) await useOnce('breaker', `new-${next++}`, store, clock);
    return Number(process.hrtime.bigint() - t0) / perRound / 1000;
  };
  const us = { small: [] as number[], large: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    clock.advance(1);
    us.small.push(await timeRound(stores.small));
    us.large.push(await timeRound(stores.large));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const smallUs = median(us.small);
  const largeUs = median(us.large);
  return {
    smallUs: Math.round(smallUs * 10) / 10,
    largeUs: Math.round(largeUs * 10) / 10,
    ratio: Math.round((largeUs / smallUs) * 100) / 100,
    sizes: [stores.small.size, stores.large.size],
  };
}

async function main(): Promise<void> {
  const [scenario, arg] = process.argv.slice(2);
  const kind = (arg ?? 'breaker') as Kind;
  let result: unknown;
  switch (scenario) {
    case 'clear':
      result = await clearScenario(kind, 100_000);
      break;
    case 'idle':
      result = await idleScenario(kind, 50_000);
      break;
    case 'shared-name':
      result = await sharedNameScenario(50_000);
      break;
    case 'referenced-hears':
      result = await referencedHearsScenario();
      break;
    case 'eviction':
      result = await evictionScenario(1_000, 50_000, 40, 7);
      break;
    default:
      throw new Error(`memory-child: unknown scenario '${scenario}'`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
