import { BreakwaterError, CircuitBreaker, EventPublisher } from '@breakwater/core';
import type { Cluster, Redis } from 'ioredis';
import type { RedisStoreSettings } from './redis-store-options.js';
import type { FleetStoreFailureMessage, StoreEvent } from './store-events.js';

/** Redis could not answer in time, is down, or the guard breaker refuses to try. */
export class StoreUnavailableError extends BreakwaterError {
  override name = 'StoreUnavailableError';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

type Connection = Redis | Cluster;

/** One round trip to Redis (a script call carrying a batch of operations). */
export interface StoreOperation {
  readonly type: 'OPERATION';
  /** The script: e.g. `breakwaterBreaker`. */
  readonly operation: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly error?: unknown;
}
interface FirstConnectionWaiter {
  ready(): void;
  ended(): void;
}
/** A script's reply as ioredis gives it: text, an integer, an array (each script says which). */
type ScriptReply = unknown;
type ScriptFn = (key: string, ...args: (string | number)[]) => Promise<ScriptReply>;

/** Scripts the store registers on its connection (EVALSHA, with EVAL once on NOSCRIPT). */
export interface ScriptDefinition {
  readonly name: string;
  readonly lua: string;
}

/**
 * Runs scripts on the store's own connection, and never lets Redis trouble reach the caller as
 * anything but a prompt `StoreUnavailableError`:
 * - its own duplicate of the user's client, with no offline queue and no resending of unanswered
 *   commands after a reconnect (a replayed record would count twice);
 * - before the first connection, calls wait for it within the command timeout; once a connection
 *   has been lost, calls fail at once until it is back;
 * - a timeout per call;
 * - a guard breaker around Redis: after a few failures in a row, calls fail fast for a while, then
 *   one probe finds out whether Redis is back.
 */
export class RedisRunner {
  readonly connection: Connection;
  readonly guard: CircuitBreaker;
  private everReady = false;
  private closed = false;
  private readonly scripts = new Map<string, ScriptFn>();

  constructor(
    client: Connection,
    private readonly settings: RedisStoreSettings,
    scripts: readonly ScriptDefinition[],
    private readonly events: EventPublisher<StoreEvent>,
  ) {
    const own = { enableOfflineQueue: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 };
    this.connection = isCluster(client)
      ? // keep the user's node options (credentials, TLS...): duplicate() replaces redisOptions whole
        client.duplicate(undefined, {
          enableOfflineQueue: false,
          redisOptions: { ...client.options.redisOptions, ...own },
        })
      : client.duplicate(own);
    this.connection.on('error', () => {
      // Errors surface through the calls that hit them; an 'error' event must not go unhandled.
    });
    this.connection.on('ready', () => {
      this.everReady = true;
      this.settleWaiting('ready');
    });
    this.connection.on('end', () => this.settleWaiting('ended'));
    for (const s of scripts) {
      this.connection.defineCommand(s.name, { numberOfKeys: 1, lua: s.lua });
      this.scripts.set(
        s.name,
        (this.connection as unknown as Record<string, ScriptFn>)[s.name].bind(this.connection),
      );
    }
    this.guard = CircuitBreaker.of(`store:${settings.keyPrefix}`, {
      consecutiveFailureThreshold: settings.guardFailureThreshold,
      failureRateThreshold: 100,
      minimumNumberOfCalls: 1_000_000,
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 1,
      waitDurationInOpenState: settings.guardWaitDurationMs,
      permittedNumberOfCallsInHalfOpenState: 1,
    });
    this.guard.on('STATE_TRANSITION', (e) => {
      this.guardClosed = e.to === 'CLOSED';
      if (!this.guardClosed) this.guardQuiet = false;
    });
  }

  /** The guard's state is CLOSED (followed through its transitions). */
  private guardClosed = true;
  /**
   * The guard is CLOSED and has seen no failure since its last success: a success would change
   * nothing in it, so calls skip it (a failure is still recorded, and makes it count again).
   */
  private guardQuiet = true;

  /** True while the guard lets calls through to Redis. */
  get healthy(): boolean {
    return this.everReady && this.connection.status === 'ready';
  }

  /**
   * Runs a script. Exactly one of `onReply` and `onError` is called, never synchronously, and
   * `onError` within the command timeout at the latest; a throw from `onReply` is passed to
   * `onError`, so nothing becomes an unhandled rejection. Callbacks rather than a promise: while
   * Redis is healthy the reply reaches the caller straight from the client's promise, with no
   * promise of ours in between (each one is a hop on every call).
   */
  run(
    script: string,
    key: string,
    args: readonly (string | number)[],
    onReply: (reply: ScriptReply) => void,
    onError: (error: unknown) => void,
  ): void {
    if (this.operations.hasListeners) {
      const start = performance.now();
      const emit = (ok: boolean, error?: unknown) =>
        this.operations.emit({
          type: 'OPERATION',
          operation: script,
          durationMs: performance.now() - start,
          ok,
          ...(ok ? {} : { error }),
        });
      const reply = onReply;
      const fail = onError;
      onReply = (value) => {
        emit(true);
        reply(value);
      };
      onError = (error) => {
        emit(false, error);
        fail(error);
      };
    }
    const fn = this.scripts.get(script);
    if (this.guardQuiet && fn !== undefined && !this.closed && this.connection.status === 'ready') {
      // The common case, with no promise of ours in between: the reply goes straight to the caller.
      this.watch(fn(key, ...args), performance.now() + this.settings.commandTimeout, true, onReply, onError);
      return;
    }
    this.guarded(script, key, args).then((reply) => deliver(onReply, onError, reply), onError);
  }

  private guarded(script: string, key: string, args: readonly (string | number)[]): Promise<ScriptReply> {
    if (!this.guardQuiet) {
      return this.guard
        .execute(() => this.send(script, key, args))
        .then((reply) => {
          if (this.guardClosed) this.guardQuiet = true;
          return reply;
        });
    }
    const pending = this.send(script, key, args);
    pending.then(this.quietSuccess, this.quietFailure);
    return pending;
  }

  // The outcome of a call that skipped the guard, as guard.execute would record it, if the guard is
  // still in the state the call started in (once it has left CLOSED, the call's permit would be
  // stale and its outcome ignored).
  private readonly quietSuccess = (): void => {
    if (this.guardQuiet || !this.guardClosed) return;
    this.guardQuiet = true;
    this.guard.onSuccess(0).catch(() => {});
  };

  private readonly quietFailure = (error: unknown): void => {
    if (!this.guardClosed) return;
    this.guardQuiet = false;
    this.guard.onError(0, error).catch(() => {});
  };

  /** One event per script call, for metrics; timed only while someone listens. */
  readonly operations = new EventPublisher<StoreOperation>();

  private send(script: string, key: string, args: readonly (string | number)[]): Promise<ScriptReply> {
    const fn = this.scripts.get(script);
    if (fn === undefined) return Promise.reject(new StoreUnavailableError(`unknown script ${script}`));
    if (this.closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
    const timeout = this.settings.commandTimeout;
    if (this.connection.status === 'ready') return this.timed(fn(key, ...args));
    if (this.everReady) {
      return Promise.reject(new StoreUnavailableError(`Redis connection is ${this.connection.status}`));
    }
    // Not connected yet: wait for the first connection, within the same timeout. A call that timed
    // out is forgotten, never sent later (its caller has moved on: a late acquire would hold a
    // half-open permit nobody uses).
    const deadline = performance.now() + timeout;
    return new Promise<ScriptReply>((resolve, reject) => {
      const waiter: FirstConnectionWaiter = {
        ready: () => {
          clearTimeout(timer);
          this.timed(fn(key, ...args), deadline).then(resolve, reject);
        },
        ended: () => {
          clearTimeout(timer);
          reject(new StoreUnavailableError('Redis connection ended'));
        },
      };
      const timer = setTimeout(() => {
        this.waiting.delete(waiter);
        reject(new StoreUnavailableError(`Redis did not answer within ${timeout} ms`));
      }, timeout);
      timer.unref?.();
      this.waiting.add(waiter);
    });
  }

  /**
   * Calls in flight, oldest first, each with its deadline: they all have the same timeout, so one
   * timer (set for the oldest) serves them all, instead of a timer per call. (Calls that waited for
   * the first connection keep the deadline they started with; they are all sent when it is ready,
   * before any other call, so the list stays in deadline order.) Redis answers a connection's calls
   * in order, so a settled call is normally the oldest: the list is trimmed as calls settle, and
   * holds no settled call (nor its reply) until the timer comes round.
   */
  private readonly inflight: InFlight[] = [];
  private inflightHead = 0;
  private sweeping = false;

  private timed(
    pending: Promise<ScriptReply>,
    deadline = performance.now() + this.settings.commandTimeout,
  ): Promise<ScriptReply> {
    return new Promise<ScriptReply>((resolve, reject) =>
      this.watch(pending, deadline, false, resolve, reject),
    );
  }

  /**
   * Follows a call in flight until it settles or its deadline passes; exactly one of the callbacks
   * runs. A call that skipped the guard (`quiet`) reports its outcome to the guard too.
   */
  private watch(
    pending: Promise<ScriptReply>,
    deadline: number,
    quiet: boolean,
    onReply: (reply: ScriptReply) => void,
    onError: (error: unknown) => void,
  ): void {
    const call: InFlight = { deadline, fail: onError, quiet, done: false };
    this.track(call);
    pending.then(
      (reply) => {
        if (call.done) return;
        this.settled(call);
        if (quiet) this.quietSuccess();
        deliver(onReply, onError, reply);
      },
      (error: unknown) => {
        if (call.done) return;
        this.settled(call);
        const failure = unavailable(error);
        if (quiet) this.quietFailure(failure);
        onError(failure);
      },
    );
  }

  private track(call: InFlight): void {
    this.inflight.push(call);
    if (!this.sweeping) this.sweepAt(call.deadline);
  }

  private settled(call: InFlight): void {
    call.done = true;
    if (this.inflight[this.inflightHead] === call) this.trim();
  }

  /** Drops the settled calls at the head of the list. */
  private trim(): void {
    const list = this.inflight;
    let i = this.inflightHead;
    while (i < list.length && list[i].done) i++;
    if (i === list.length) {
      list.length = 0;
      i = 0;
    } else if (i > 1024 && i * 2 > list.length) {
      list.splice(0, i);
      i = 0;
    }
    this.inflightHead = i;
  }

  private sweepAt(deadline: number): void {
    this.sweeping = true;
    const timer = setTimeout(this.sweep, Math.max(1, Math.ceil(deadline - performance.now())));
    timer.unref?.();
  }

  private readonly sweep = (): void => {
    this.sweeping = false;
    const now = performance.now();
    const list = this.inflight;
    for (let i = this.inflightHead; i < list.length; i++) {
      const call = list[i];
      if (call.done) continue;
      if (call.deadline > now) break;
      call.done = true;
      const timeout = new StoreUnavailableError(
        `Redis did not answer within ${this.settings.commandTimeout} ms`,
      );
      if (call.quiet) this.quietFailure(timeout);
      call.fail(timeout);
    }
    this.trim();
    if (this.inflightHead < list.length) this.sweepAt(list[this.inflightHead].deadline);
  };

  /** Calls waiting for the first connection. */
  private readonly waiting = new Set<FirstConnectionWaiter>();

  private settleWaiting(how: 'ready' | 'ended'): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const waiter of waiting) waiter[how]();
  }

  /** Reports the first failure of an outage. */
  reportFailure(error: unknown): void {
    if (this.outage !== undefined) return;
    const at = Date.now();
    this.outage = { at, error };
    this.events.emit({
      kind: 'store',
      type: 'STORE_FAILURE',
      name: this.settings.keyPrefix,
      at,
      error,
      policy: this.settings.onStoreFailure,
    });
  }

  /**
   * Reports the first success after an outage, and tells the fleet about the outage: a process
   * cannot publish while Redis is down, so every process learns of another's outage once it is over.
   */
  reportSuccess(): void {
    const outage = this.outage;
    if (outage === undefined) return;
    this.outage = undefined;
    const at = Date.now();
    this.events.emit({ kind: 'store', type: 'STORE_RECOVERED', name: this.settings.keyPrefix, at });
    if (!this.settings.publishEvents) return;
    const message: FleetStoreFailureMessage = {
      kind: 'store',
      type: 'STORE_FAILURE',
      name: this.settings.keyPrefix,
      origin: this.settings.processId,
      at: outage.at,
      recoveredAt: at,
      error: outage.error instanceof Error ? outage.error.message : String(outage.error),
      policy: this.settings.onStoreFailure,
    };
    this.connection.publish(`${this.settings.keyPrefix}:events`, JSON.stringify(message)).catch(() => {});
  }

  private outage: { readonly at: number; readonly error: unknown } | undefined;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.guard.close();
    try {
      await this.connection.quit();
    } catch {
      this.connection.disconnect();
    }
  }
}

interface InFlight {
  readonly deadline: number;
  /** Tells the caller it timed out. */
  readonly fail: (error: unknown) => void;
  /** It skipped the guard: the guard hears of its failure from the runner. */
  readonly quiet: boolean;
  done: boolean;
}

function unavailable(error: unknown): StoreUnavailableError {
  return error instanceof StoreUnavailableError ? error : new StoreUnavailableError(String(error), error);
}

/** A reply to its caller; a throw from the caller's handler is an error of that call, not an unhandled one. */
function deliver(
  onReply: (reply: ScriptReply) => void,
  onError: (error: unknown) => void,
  reply: ScriptReply,
): void {
  try {
    onReply(reply);
  } catch (error) {
    try {
      onError(error);
    } catch {
      // nothing is left to tell
    }
  }
}

function isCluster(client: Connection): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}
