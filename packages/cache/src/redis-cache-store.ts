import type { Unsubscribe } from '@breakwater/core';
import { ConfigReader } from '@breakwater/core/engine';
import type { Cluster, Redis } from 'ioredis';
import { isCluster, type RedisClient, TierConnection } from './tier-connection.js';

export interface RedisCacheStoreOptions {
  /** Your ioredis client: `new Redis(url)` or `new Redis.Cluster(nodes)`. It stays yours to close. */
  readonly client: Redis | Cluster;
  /** Put in front of every key and channel (`<keyPrefix>:cache:<name>:...`). Default `'breakwater'`. */
  readonly keyPrefix?: string;
}

/** Releases a lock only if this process still holds it (its token), so a late release frees no one else's. */
const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
/** Extends a lock only if this process still holds it. */
const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";

type LockCommands = {
  bwCacheUnlock(key: string, token: string): Promise<number>;
  bwCacheRenew(key: string, token: string, ttlMs: number): Promise<number>;
};

const SCAN_COUNT = 500;

/**
 * The shared tier of `Cache`: Redis (single node, Sentinel or Cluster) through the user's ioredis
 * client. It holds two connections of its own, duplicated from that client: one for commands
 * (set up to fail fast, see TierConnection) and, once a cache listens, one for pub/sub, on which
 * the caches that share a name and this prefix tell each other which keys to drop from their
 * in-process tier. Keys are not hash-tagged: the entries of one cache spread over a Cluster.
 *
 * Several caches may share one store. `close()` releases its connections; the client stays yours.
 */
export class RedisCacheStore {
  readonly keyPrefix: string;
  private readonly user: RedisClient;
  private readonly connection: TierConnection;
  private subscriber: RedisClient | undefined;
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly reconnectListeners = new Set<() => void>();
  private closed = false;

  constructor(options: RedisCacheStoreOptions) {
    const r = new ConfigReader('RedisCacheStore options', options, ['client', 'keyPrefix']);
    const client = options?.client as RedisClient;
    if (typeof client?.duplicate !== 'function' || typeof client?.on !== 'function') {
      r.fail('client', 'an ioredis client (new Redis(...) or new Redis.Cluster(...))');
    }
    const prefix = options.keyPrefix ?? 'breakwater';
    if (typeof prefix !== 'string' || prefix.length === 0 || /[*?[\]\\]/.test(prefix)) {
      r.fail('keyPrefix', 'a non-empty string without the glob characters * ? [ ] \\');
    }
    this.keyPrefix = prefix;
    this.user = client;
    this.connection = new TierConnection(client);
    this.connection.client.defineCommand('bwCacheUnlock', { numberOfKeys: 1, lua: UNLOCK });
    this.connection.client.defineCommand('bwCacheRenew', { numberOfKeys: 1, lua: RENEW });
  }

  /** The Redis key of `key` in the cache `name` at `version`. */
  entryKey(name: string, version: string, key: string): string {
    return `${this.keyPrefix}:cache:${name}:v${version}:${key}`;
  }

  /** The key of the fleet-wide load lock of that entry. */
  lockKey(name: string, version: string, key: string): string {
    return `${this.keyPrefix}:cache:${name}:lock:v${version}:${key}`;
  }

  /** The channel on which the caches named `name` tell each other what changed. */
  channel(name: string): string {
    return `${this.keyPrefix}:cache:${name}:bus`;
  }

  // ------------------------------------------------------------------ commands (no deadline here:
  // the cache puts its own around each, and its breaker)

  get(key: string): Promise<string | null> {
    const wait = this.connection.usable();
    const c = this.connection.client;
    return wait === undefined ? c.get(key) : wait.then(() => c.get(key));
  }

  async set(key: string, text: string, ttlMs: number): Promise<void> {
    await this.connection.usable();
    await this.connection.client.set(key, text, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async delete(key: string): Promise<void> {
    await this.connection.usable();
    await this.connection.client.del(key);
  }

  /** Takes the lock `key` for `ttlMs` with `token` if nobody holds it. */
  async tryLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    await this.connection.usable();
    return (await this.connection.client.set(key, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Extends the lock while `token` still holds it; false when it was lost. */
  async renewLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    await this.connection.usable();
    return (await (this.connection.client as unknown as LockCommands).bwCacheRenew(key, token, ttlMs)) === 1;
  }

  async unlock(key: string, token: string): Promise<void> {
    await this.connection.usable();
    await (this.connection.client as unknown as LockCommands).bwCacheUnlock(key, token);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.connection.usable();
    await this.connection.client.publish(channel, message);
  }

  /**
   * Deletes every key matching `pattern` (SCAN, then UNLINK one key per command, as keys of a
   * Cluster node may sit in different slots), on every master of a Cluster; the number deleted.
   */
  async deleteMatching(pattern: string): Promise<number> {
    await this.connection.usable();
    const c = this.connection.client;
    const nodes: Redis[] = isCluster(c) ? c.nodes('master') : [c];
    let deleted = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
        cursor = next;
        if (keys.length > 0) {
          const pipeline = node.pipeline();
          for (const key of keys) pipeline.unlink(key);
          const results = (await pipeline.exec()) ?? [];
          for (const [error, n] of results) {
            if (error) throw error;
            deleted += Number(n);
          }
        }
      } while (cursor !== '0');
    }
    return deleted;
  }

  // ------------------------------------------------------------------ pub/sub

  /**
   * Calls `listener` with every message on `channel` (the subscriber connection is opened by the
   * first listener and closed by the last).
   */
  subscribe(channel: string, listener: (message: string) => void): Unsubscribe {
    if (this.closed) return () => {};
    const subscriber = this.ensureSubscriber();
    let set = this.channels.get(channel);
    if (set === undefined) {
      set = new Set();
      this.channels.set(channel, set);
      subscriber.subscribe(channel).catch(() => {
        // Retried by ioredis on reconnect (autoResubscribe); until then nothing arrives.
      });
    }
    const entry = (message: string) => listener(message);
    set.add(entry);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const current = this.channels.get(channel);
      if (current === undefined) return;
      current.delete(entry);
      if (current.size > 0) return;
      this.channels.delete(channel);
      this.subscriber?.unsubscribe(channel).catch(() => {});
      if (this.channels.size === 0) this.closeSubscriber();
    };
  }

  /**
   * Calls `listener` when the pub/sub connection comes back after a loss: messages sent meanwhile
   * are lost, so a listener should distrust what it kept.
   */
  onBusReconnect(listener: () => void): Unsubscribe {
    const entry = () => listener();
    this.reconnectListeners.add(entry);
    return () => {
      this.reconnectListeners.delete(entry);
    };
  }

  private ensureSubscriber(): RedisClient {
    if (this.subscriber !== undefined) return this.subscriber;
    const user = this.user;
    // disconnectTimeout: once closed, a socket still trying to connect is destroyed soon, not after
    // ioredis's default 2 s, which would hold a one-shot script that long past its end.
    const own = {
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      lazyConnect: false,
      disconnectTimeout: 200,
    };
    const subscriber = isCluster(user)
      ? user.duplicate(undefined, {
          enableOfflineQueue: true,
          redisOptions: { ...user.options.redisOptions, ...own },
        })
      : user.duplicate(own);
    subscriber.on('error', () => {});
    let wasReady = false;
    subscriber.on('ready', () => {
      if (wasReady) for (const l of [...this.reconnectListeners]) l();
      wasReady = true;
    });
    subscriber.on('message', (channel: string, message: string) => {
      const set = this.channels.get(channel);
      if (set === undefined) return;
      for (const l of [...set]) {
        try {
          l(message);
        } catch {
          // a listener's bug must not stop the others
        }
      }
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  private closeSubscriber(): void {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.disconnect();
  }

  /** Closes the store's own connections (the client you passed stays open). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    this.closeSubscriber();
    await this.connection.close(1_000);
  }
}
