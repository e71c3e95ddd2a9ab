/**
 * The usual life of a test file on one redis-server: the server (and a client) started before its
 * tests, and, after them, every server and worker the harness started stopped (`stopAll`).
 */
import { RedisStore, type RedisStoreOptions } from '@breakwater/store-redis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, type StartRedisOptions, startRedis, stopAll } from './redis-harness.js';

export interface RedisForFile {
  /** The file's server: read it inside tests and hooks (it exists once the file's beforeAll ran). */
  readonly server: RedisServer;
  /** A client of that server, disconnected when the server stops. */
  readonly client: Redis;
  /** With `options.store`: a store on `client`, made before the file's tests and closed after them. */
  readonly store: RedisStore;
}

export interface RedisForFileOptions extends StartRedisOptions {
  /** Options of the file's one store (see `store`); none without them. */
  readonly store?: Omit<RedisStoreOptions, 'client'>;
}

/** A Lua script called with one key and string arguments, as `scriptCommand` defines it. */
export type ScriptCall = (key: string, ...args: string[]) => Promise<string>;

/** `lua` as a command `name` of `client` (ioredis: EVALSHA, and EVAL when Redis lost the script). */
export function scriptCommand(client: Redis, name: string, lua: string): ScriptCall {
  client.defineCommand(name, { numberOfKeys: 1, lua });
  return (client as unknown as Record<string, ScriptCall>)[name].bind(client);
}

/** One redis-server for the calling test file; see the module comment. */
export function redisForFile(options: RedisForFileOptions = {}): RedisForFile {
  const { store: storeOptions, ...serverOptions } = options;
  let started: { server: RedisServer; client: Redis; store?: RedisStore } | undefined;
  beforeAll(async () => {
    const server = await startRedis(serverOptions);
    const client = server.client();
    const store = storeOptions && new RedisStore({ ...storeOptions, client });
    started = { server, client, store };
  });
  // Hooks after tests run last-registered first: the store closes before the server stops.
  afterAll(stopAll);
  afterAll(() => started?.store?.close());
  const get = <K extends keyof RedisForFile>(what: K): RedisForFile[K] => {
    const value = started?.[what];
    if (value === undefined) throw new Error(`redisForFile: no ${what} (read it in tests and hooks)`);
    return value as RedisForFile[K];
  };
  return {
    get server() {
      return get('server');
    },
    get client() {
      return get('client');
    },
    get store() {
      return get('store');
    },
  };
}
