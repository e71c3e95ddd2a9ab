/**
 * Small helpers shared by the RedisStore suites in this folder: the life of a suite file (one
 * server, policies and stores closed after each test), waiting, store-event capture and a bounded
 * load generator that measures every call.
 */
import {
  Bulkhead,
  type BulkheadConfig,
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  type Clock,
  RateLimiter,
  type RateLimiterConfig,
} from '@breakwater/core';
import { RedisStore, type RedisStoreOptions, type StoreEvent } from '@breakwater/store-redis';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { stopAll } from '../support/redis-harness.js';
import { type RedisForFile, redisForFile } from '../support/redis-suite.js';

/**
 * The life of a suite file: after each test, what it registered in `cleanup` runs (last first) and
 * the test fails if any promise went unhandled meanwhile; after the file, every server and worker
 * the harness started is stopped.
 */
export function suiteLifecycle(): { readonly cleanup: (() => unknown)[] } {
  const cleanup: (() => unknown)[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    expect(unhandled.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await stopAll();
  });
  return { cleanup };
}

export interface RedisSuite extends Omit<RedisForFile, 'store'> {
  readonly cleanup: (() => unknown)[];
  /** A store on `on` (the suite's client by default), 1 s command timeout unless `options` say otherwise. */
  store(options?: Partial<RedisStoreOptions>, on?: Redis): RedisStore;
  breaker(name: string, config: CircuitBreakerConfig, store: RedisStore): CircuitBreaker;
  limiter(name: string, config: RateLimiterConfig, store: RedisStore, clock?: Clock): RateLimiter;
  bulkhead(name: string, config: BulkheadConfig, store: RedisStore): Bulkhead;
}

/**
 * `suiteLifecycle()` on one redis-server (`redisForFile`), with factories whose stores and
 * policies are closed after the test that made them. The factories need no `this`.
 */
export function redisSuite(): RedisSuite {
  const { cleanup } = suiteLifecycle();
  const redis = redisForFile();
  const closedAfterTest = <T extends { close(): unknown }>(made: T): T => {
    cleanup.push(() => made.close());
    return made;
  };
  return {
    get server() {
      return redis.server;
    },
    get client() {
      return redis.client;
    },
    cleanup,
    store: (options = {}, on = redis.client) =>
      closedAfterTest(new RedisStore({ client: on, commandTimeout: 1_000, ...options })),
    breaker: (name, config, store) => closedAfterTest(CircuitBreaker.of(name, config, { store })),
    limiter: (name, config, store, clock) =>
      closedAfterTest(RateLimiter.of(name, config, { store, ...(clock ? { clock } : {}) })),
    bulkhead: (name, config, store) => closedAfterTest(Bulkhead.of(name, config, { store })),
  };
}

/** A protected call that takes `ms` and counts the calls running at once; `highest` is the most seen. */
export function concurrencyProbe(ms: number): {
  readonly call: () => Promise<void>;
  readonly highest: number;
} {
  let running = 0;
  let highest = 0;
  return {
    call: async () => {
      running++;
      highest = Math.max(highest, running);
      await sleep(ms);
      running--;
    },
    get highest() {
      return highest;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a truthy value (returned), or throws after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5_000,
  what = 'condition',
  intervalMs = 10,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not reached within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}

/** Records a store's events in order (type and local receipt time). */
export function captureStoreEvents(store: RedisStore): {
  readonly events: StoreEvent[];
  types(): string[];
  stop(): void;
} {
  const events: StoreEvent[] = [];
  const stop = store.onEvent((event) => events.push(event));
  return { events, types: () => events.map((e) => e.type), stop };
}

/** Collapses runs of equal entries: ['A','A','B','A'] -> ['A','B','A']. */
export function collapse<T>(items: readonly T[]): T[] {
  return items.filter((item, i) => i === 0 || item !== items[i - 1]);
}

export type CallOutcome = 'ok' | 'failed' | 'rejected' | 'unexpected';

export interface CallRecord {
  readonly breaker: string;
  readonly startedAt: number;
  readonly latencyMs: number;
  readonly outcome: CallOutcome;
  readonly error?: unknown;
}

export interface LoadStats {
  started: number;
  settled: number;
  readonly calls: CallRecord[];
  count(outcome: CallOutcome): number;
  maxLatency(): number;
  /** The slowest calls, for failure messages. */
  slowest(n?: number): CallRecord[];
}

/** A breaker by default; any named policy (rate limiter, bulkhead) when `rejected` recognizes its refusals. */
export interface LoadOptions<P extends { readonly name: string } = CircuitBreaker> {
  /** The policy for the next call (e.g. a fixed one, or one of many). */
  readonly pick: (i: number) => P;
  /** The protected call; throwing or rejecting with `DownstreamError` counts as an expected failure. */
  readonly call: (policy: P) => Promise<unknown>;
  /** The policy's own refusals (counted as 'rejected'). Default: `CallNotPermittedError`. */
  readonly rejected?: (error: unknown) => boolean;
  readonly concurrency: number;
  /** Pause between two calls of one lane (ms). Default 1. */
  readonly pauseMs?: number;
  /** No new call starts after this (epoch ms). */
  readonly until: () => boolean;
  /** Hard bound on the number of calls. */
  readonly maxCalls?: number;
}

/** The error the load's downstream throws on purpose. */
export class DownstreamError extends Error {
  override name = 'DownstreamError';
}

/**
 * Runs `concurrency` lanes of sequential calls until `until()` says stop, timing every call from
 * `execute` to its settlement. Resolves when every call has settled (the caller bounds the wait).
 */
export async function runLoad<P extends { readonly name: string } = CircuitBreaker>(
  options: LoadOptions<P>,
): Promise<LoadStats> {
  const rejected = options.rejected ?? ((e: unknown) => e instanceof CallNotPermittedError);
  const calls: CallRecord[] = [];
  const stats: LoadStats = {
    started: 0,
    settled: 0,
    calls,
    count: (outcome) => calls.filter((c) => c.outcome === outcome).length,
    maxLatency: () => calls.reduce((m, c) => Math.max(m, c.latencyMs), 0),
    slowest: (n = 5) => [...calls].sort((a, b) => b.latencyMs - a.latencyMs).slice(0, n),
  };
  const maxCalls = options.maxCalls ?? Number.POSITIVE_INFINITY;
  const lane = async () => {
    while (!options.until() && stats.started < maxCalls) {
      const breaker = options.pick(stats.started);
      stats.started++;
      const startedAt = performance.now();
      let outcome: CallOutcome;
      let error: unknown;
      try {
        await options.call(breaker);
        outcome = 'ok';
      } catch (e) {
        error = e;
        outcome = rejected(e) ? 'rejected' : e instanceof DownstreamError ? 'failed' : 'unexpected';
      }
      stats.settled++;
      calls.push({
        breaker: breaker.name,
        startedAt,
        latencyMs: performance.now() - startedAt,
        outcome,
        error,
      });
      await sleep(options.pauseMs ?? 1);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return stats;
}

/** Resolves with `promise`, or rejects after `ms` (so a hung call fails the test instead of timing it out). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * Measures when this process was kept off the CPU (a loaded machine, other processes), so that a
 * call's latency can be told from the time the process could not run at all: every `periodMs`, the
 * wall time since the last tick beyond the period, minus the CPU time the process spent meanwhile
 * (its own work, GC included, still counts against the calls).
 */
export function watchStalls(periodMs = 5): {
  /** Milliseconds the process stood still between `from` and `to` (performance.now() times). */
  during(from: number, to: number): number;
  stop(): void;
} {
  const stalls: { from: number; to: number; ms: number }[] = [];
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    const idle = now - last - periodMs - (cpu.user + cpu.system) / 1_000;
    if (idle > periodMs) stalls.push({ from: last, to: now, ms: idle });
    last = now;
    lastCpu = process.cpuUsage();
  }, periodMs);
  return {
    during(from, to) {
      let total = 0;
      for (const stall of stalls) {
        const overlap = Math.min(to, stall.to) - Math.max(from, stall.from);
        // the part of the stall that falls within [from, to]
        if (overlap > 0) total += (stall.ms * overlap) / (stall.to - stall.from);
      }
      return total;
    },
    stop: () => clearInterval(timer),
  };
}
