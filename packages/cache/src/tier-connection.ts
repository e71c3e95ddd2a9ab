import { type Connection, StoreConnection } from '@breakwater/store-redis/connection';
import type { Cluster } from 'ioredis';
import { CacheTierError } from './cache-errors.js';

export type RedisClient = Connection;

export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/**
 * The cache's own command connection: RedisStore's (a duplicate of the user's client, which
 * stays theirs, that never replays a command: a write-back replayed after an outage could put back
 * a value deleted meanwhile). A single node has no offline queue, so a command waits for the first
 * connection (the caller's deadline bounds the wait) and fails at once once the connection has
 * been lost; a Cluster queues while it finds its nodes.
 */
export class TierConnection {
  private readonly own: StoreConnection;
  private closed = false;
  private firstReady: Promise<void> | undefined;
  private settleFirst: ((error?: Error) => void) | undefined;

  constructor(user: RedisClient) {
    this.own = new StoreConnection(user, () => this.settleFirst?.());
    this.own.client.on('end', () => this.settleFirst?.(this.lost()));
  }

  get client(): RedisClient {
    return this.own.client;
  }

  /**
   * Undefined when a command can be sent now; a promise of the first connection when there has
   * been none yet (one for every caller: no timer, no listener per call); a rejection at once when
   * the connection was lost or closed.
   */
  usable(): Promise<void> | undefined {
    if (this.own.ready) return undefined;
    if (this.closed || this.own.wasReady) return Promise.reject(this.lost());
    if (this.firstReady === undefined) {
      this.firstReady = new Promise<void>((resolve, reject) => {
        this.settleFirst = (error) => {
          this.settleFirst = undefined;
          this.firstReady = undefined;
          if (error === undefined) resolve();
          else reject(error);
        };
      });
      // Callers attach to it; if they all gave up (deadline), its rejection is nobody's business.
      this.firstReady.catch(() => {});
    }
    return this.firstReady;
  }

  private lost(): CacheTierError {
    return this.closed
      ? new CacheTierError('the cache store is closed', 'closed')
      : new CacheTierError(`the connection to Redis is down (${this.own.status})`, 'connection');
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.own.close(timeoutMs);
    this.settleFirst?.(this.lost());
  }
}
