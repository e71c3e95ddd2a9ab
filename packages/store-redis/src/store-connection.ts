import type { Cluster, Redis } from 'ioredis';

export type Connection = Redis | Cluster;

interface FirstConnectionWaiter {
  ready(): void;
  ended(): void;
}

/**
 * The store's own connection: a duplicate of the user's client (which stays theirs), set up so
 * that nothing is ever replayed:
 * - no resending of unanswered commands after a reconnect (a replayed record would count twice),
 *   no retries of a request, and on a Cluster no resending of a command whose node connection
 *   closed (`retryDelayOnFailover: 0`): it may have run;
 * - a single node has no offline queue: the runner waits for the first connection itself and
 *   fails fast once it has been lost;
 * - a Cluster keeps its queues: ioredis connects to each node lazily, on the first command for
 *   one of its slots, and a command must wait those few milliseconds for its node instead of
 *   failing (a cold Cluster client is not an outage). The runner still never sends while the
 *   Cluster itself is not ready, and a node's queue is dropped, not replayed, when its connection
 *   is lost (`maxRetriesPerRequest: 0`).
 */
export class StoreConnection {
  readonly client: Connection;
  private everReady = false;
  /** Calls waiting for the first connection. */
  private readonly waiting = new Set<FirstConnectionWaiter>();

  constructor(user: Connection, onReady: () => void) {
    // disconnectTimeout: once closed, a socket that does not close by itself (one whose connection
    // attempt already failed) is destroyed after this, not after ioredis's default 2 s, which would
    // hold a one-shot script that far past its end.
    const own = { autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0, disconnectTimeout: 200 };
    this.client = isCluster(user)
      ? // keep the user's node options (credentials, TLS...): duplicate() replaces redisOptions whole
        user.duplicate(undefined, {
          enableOfflineQueue: true,
          // A command whose node connection closed may have run: ioredis must not send it again.
          retryDelayOnFailover: 0,
          redisOptions: { ...user.options.redisOptions, ...own, enableOfflineQueue: true },
        })
      : user.duplicate({ ...own, enableOfflineQueue: false });
    this.client.on('error', () => {
      // Errors surface through the calls that hit them; an 'error' event must not go unhandled.
    });
    this.client.on('ready', () => {
      this.everReady = true;
      this.settleWaiting('ready');
      onReady();
    });
    this.client.on('end', () => this.settleWaiting('ended'));
    // A client made with lazyConnect hands the option on: connect now, or the first call's wait for
    // the connection would be all that ever happens.
    if (this.client.status === 'wait') this.client.connect().catch(() => {});
  }

  /** Commands can be sent now. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** It has been ready before: a call now fails fast instead of waiting for it. */
  get wasReady(): boolean {
    return this.everReady;
  }

  get status(): string {
    return this.client.status;
  }

  /** Waits for the first connection until `timeoutMs` passes; exactly one callback runs. */
  whenFirstReady(timeoutMs: number, ready: () => void, failed: (why: 'timeout' | 'ended') => void): void {
    const waiter: FirstConnectionWaiter = {
      ready: () => {
        clearTimeout(timer);
        ready();
      },
      ended: () => {
        clearTimeout(timer);
        failed('ended');
      },
    };
    // A wait the caller awaits: it keeps the process alive (cleared as soon as it settles).
    const timer = setTimeout(() => {
      this.waiting.delete(waiter);
      failed('timeout');
    }, timeoutMs);
    this.waiting.add(waiter);
  }

  /** QUIT (replies still due arrive first), or a plain disconnect when Redis does not answer in `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([this.client.quit(), gaveUp]);
    } catch {
      // disconnected below
    } finally {
      clearTimeout(timer);
      this.client.disconnect();
    }
  }

  private settleWaiting(how: 'ready' | 'ended'): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const waiter of waiting) waiter[how]();
  }
}

function isCluster(client: Connection): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}
