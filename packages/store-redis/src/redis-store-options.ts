import { ConfigError } from '@breakwater/core';
import { ConfigReader } from '@breakwater/core/engine';
import type { Cluster, Redis } from 'ioredis';

/** What the store does when Redis cannot answer (down, too slow, or the guard breaker is open). */
export type StoreFailurePolicy = 'local' | 'allow' | 'deny';

export interface RedisStoreOptions {
  /** An ioredis client: `new Redis(url)` (single node or Sentinel) or `new Redis.Cluster(nodes)`. It stays yours to close. */
  readonly client: Redis | Cluster;
  /** Prefix of every key. Default `'breakwater'`. */
  readonly keyPrefix?: string;
  /** `'local'` (default): fall back to in-process state and go back to Redis when it answers; `'allow'`: permit every call; `'deny'`: refuse every call. */
  readonly onStoreFailure?: StoreFailurePolicy;
  /** Longest wait for Redis per operation (ms). Default 100. */
  readonly commandTimeout?: number;
  /** A breaker's key expires after this long without a call (ms). Default 86,400,000 (a day). */
  readonly keyTtlMs?: number;
  /** A half-open probe whose process died is given back after this long (ms). Default 60,000. */
  readonly halfOpenLeaseMs?: number;
  /**
   * A bulkhead slot is a lease renewed every third of this while its call runs; the slots of a
   * process that died are given back after this long (ms). Default 60,000.
   */
  readonly bulkheadLeaseMs?: number;
  /** The guard around Redis: failures (in a row or within `waitDurationMs`) that open it, and its probe interval (ms). */
  readonly guard?: { readonly failureThreshold?: number; readonly waitDurationMs?: number };
  /** `'redis'` (default): Redis `TIME` is the clock of every decision. `'caller'`: the caller's clock (tests only). */
  readonly clock?: 'redis' | 'caller';
  /** Publish state transitions on `<keyPrefix>:events` for fleet-wide event streams. Default true. */
  readonly publishEvents?: boolean;
  /** How this process names itself in fleet-wide events. Default `<hostname>:<pid>`. */
  readonly processId?: string;
}

export interface RedisStoreSettings {
  readonly keyPrefix: string;
  readonly onStoreFailure: StoreFailurePolicy;
  readonly commandTimeout: number;
  readonly keyTtlMs: number;
  readonly halfOpenLeaseMs: number;
  readonly bulkheadLeaseMs: number;
  readonly guardFailureThreshold: number;
  readonly guardWaitDurationMs: number;
  readonly clock: 'redis' | 'caller';
  readonly publishEvents: boolean;
  readonly processId: string;
}

const KNOWN = [
  'client',
  'keyPrefix',
  'onStoreFailure',
  'commandTimeout',
  'keyTtlMs',
  'halfOpenLeaseMs',
  'bulkheadLeaseMs',
  'guard',
  'clock',
  'publishEvents',
  'processId',
] as const;

export function resolveRedisStoreOptions(options: unknown, defaultProcessId: string): RedisStoreSettings {
  const r = new ConfigReader('RedisStore options', options, KNOWN);
  const client = (options as { client?: unknown } | undefined)?.client as { duplicate?: unknown } | undefined;
  if (typeof client !== 'object' || client === null || typeof client.duplicate !== 'function') {
    r.fail('client', 'an ioredis client (new Redis(...) or new Redis.Cluster(...))', client);
  }
  const keyPrefix = (options as { keyPrefix?: unknown }).keyPrefix ?? 'breakwater';
  if (
    typeof keyPrefix !== 'string' ||
    keyPrefix.length === 0 ||
    keyPrefix.length > 64 ||
    /[{}\s]/.test(keyPrefix)
  ) {
    throw new ConfigError('RedisStore options', {
      field: 'keyPrefix',
      value: keyPrefix,
      allowed: 'a non-empty string of at most 64 characters without braces or spaces',
    });
  }
  const guard = new ConfigReader('RedisStore options.guard', (options as { guard?: unknown }).guard, [
    'failureThreshold',
    'waitDurationMs',
  ]);
  const processId = (options as { processId?: unknown }).processId ?? defaultProcessId;
  if (typeof processId !== 'string' || processId.length === 0)
    r.fail('processId', 'a non-empty string', processId);
  return Object.freeze({
    keyPrefix,
    onStoreFailure: r.oneOf('onStoreFailure', 'local', ['local', 'allow', 'deny']),
    commandTimeout: r.number('commandTimeout', 100, 1, 60_000),
    keyTtlMs: r.integer('keyTtlMs', 86_400_000, 1_000),
    halfOpenLeaseMs: r.integer('halfOpenLeaseMs', 60_000, 1),
    bulkheadLeaseMs: r.integer('bulkheadLeaseMs', 60_000, 30, 2_147_483_647),
    guardFailureThreshold: guard.integer('failureThreshold', 3, 1),
    guardWaitDurationMs: guard.number('waitDurationMs', 1_000, 1),
    clock: r.oneOf('clock', 'redis', ['redis', 'caller']),
    publishEvents: r.boolean('publishEvents', true),
    processId: processId as string,
  });
}
