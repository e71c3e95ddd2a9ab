import type { Unsubscribe } from '@breakwater/core';
import type { Cluster, Redis } from 'ioredis';

type Connection = Redis | Cluster;

/**
 * The store's subscription to "a slot came free" notices of bulkheads: one duplicate connection,
 * opened on first use, subscribed to each channel while some engine listens to it. Pub/sub is
 * at most once, so listeners are also called (spuriously, which they allow) whenever a notice may
 * have been missed: once a channel's subscription is active, and after every reconnect.
 */
export class SlotNotices {
  private connection: Connection | undefined;
  private readonly channels = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(private readonly client: Connection) {}

  subscribe(channel: string, listener: () => void): Unsubscribe {
    if (this.closed) return noop;
    let listeners = this.channels.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.channels.set(channel, listeners);
      const connection = this.open();
      connection.subscribe(channel).then(
        () => this.notify(channel),
        () => {
          // Not subscribed (Redis down): the re-subscription after the reconnect notifies.
        },
      );
    }
    listeners.add(listener);
    return () => {
      const set = this.channels.get(channel);
      if (set === undefined || !set.delete(listener) || set.size > 0) return;
      this.channels.delete(channel);
      this.connection?.unsubscribe(channel).catch(noop);
    };
  }

  /** Closes the connection; listeners are not called any more. */
  close(): void {
    this.closed = true;
    this.channels.clear();
    const connection = this.connection;
    this.connection = undefined;
    connection?.disconnect();
  }

  private open(): Connection {
    if (this.connection !== undefined) return this.connection;
    const connection = this.client.duplicate();
    let connectedBefore = false;
    connection.on('error', noop);
    connection.on('message', (channel: string) => this.notify(channel));
    connection.on('ready', () => {
      // ioredis re-subscribes by itself; notices sent while we were away are lost.
      if (connectedBefore) setTimeout(() => this.notifyAll(), 50).unref?.();
      connectedBefore = true;
    });
    this.connection = connection;
    return connection;
  }

  private notify(channel: string): void {
    const listeners = this.channels.get(channel);
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // one listener's failure must not keep the others from hearing
      }
    }
  }

  private notifyAll(): void {
    for (const channel of this.channels.keys()) this.notify(channel);
  }
}

function noop(): void {}
