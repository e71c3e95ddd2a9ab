import { EventPublisher } from '@breakwater/core/engine';
import { type CallObserver, InFlightCalls, type ScriptCallbacks, type ScriptReply } from './in-flight.js';
import type { RedisStoreSettings } from './redis-store-options.js';
import { type Connection, StoreConnection } from './store-connection.js';
import { isStoreWide, StoreUnavailableError } from './store-errors.js';
import type { StoreEvent } from './store-events.js';
import { type GuardState, StoreGuard } from './store-guard.js';
import { eventsChannel } from './wire/keys.js';
import { PROBE_SCRIPT, type ScriptDefinition } from './wire/scripts.js';

export type { ScriptCallbacks, ScriptReply } from './in-flight.js';

/** One round trip to Redis (a script call carrying a batch of operations). */
export interface StoreOperation {
  readonly type: 'OPERATION';
  /** The script: e.g. `breakwaterBreaker`. */
  readonly operation: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly error?: unknown;
}

type ScriptFn = (key: string, ...args: (string | number)[]) => Promise<ScriptReply>;

/**
 * Runs scripts on the store's own connection (`StoreConnection`), and never lets Redis trouble
 * reach a caller as anything but a prompt failure the engine turns into its failure policy:
 * - before the first connection, calls wait for it within the command timeout; once a connection
 *   has been lost, calls fail at once until it is back;
 * - a timeout per call (`InFlightCalls`), after which a late answer still reaches the engine, so
 *   that what Redis granted to a caller who gave up is given back;
 * - a guard around Redis (`StoreGuard`), which probes in the background while it is open.
 */
export class RedisRunner {
  private readonly link: StoreConnection;
  private readonly guard: StoreGuard;
  private readonly inflight: InFlightCalls;
  private readonly scripts = new Map<string, ScriptFn>();
  /** Where the probe writes: the key of the call whose failure opened the guard (its node, on a Cluster). */
  private probeKey: string;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private probing = false;
  private closed = false;
  /** One event per script call, for metrics; timed only while someone listens. */
  readonly operations = new EventPublisher<StoreOperation>();

  constructor(
    client: Connection,
    private readonly settings: RedisStoreSettings,
    scripts: readonly ScriptDefinition[],
    events: EventPublisher<StoreEvent>,
  ) {
    this.link = new StoreConnection(client, () => {
      // The connection is (back) up: find out at once whether Redis serves again, and let engines
      // deliver what waited for it (a process whose first calls timed out may make no other call).
      if (this.guard.isOpen) this.probe();
      else this.guard.wakeRecoveryWaiters();
    });
    this.guard = new StoreGuard(settings, events, {
      opened: () => this.scheduleProbe(),
      publish: (message) => {
        this.link.client.publish(eventsChannel(settings.keyPrefix), JSON.stringify(message)).catch(() => {});
      },
    });
    const observer: CallObserver = {
      succeeded: (issuedAt, late) => this.guard.succeeded(issuedAt, late),
      failedWith: (error, key) => {
        if (!isStoreWide(error)) return;
        // The guard probes where Redis failed last: on a Cluster, the node that failed.
        if (!this.guard.isOpen) this.probeKey = probeKeyFor(key, this.settings.keyPrefix);
        this.guard.failed(error);
      },
    };
    this.inflight = new InFlightCalls(settings.commandTimeout, observer);
    this.probeKey = `${settings.keyPrefix}:probe`;
    for (const s of [...scripts, PROBE_SCRIPT]) {
      this.link.client.defineCommand(s.name, { numberOfKeys: 1, lua: s.lua });
      const fn = (this.link.client as unknown as Record<string, ScriptFn | undefined>)[s.name];
      if (fn === undefined) throw new Error(`ioredis did not define the command ${s.name}`);
      this.scripts.set(s.name, fn.bind(this.link.client));
    }
  }

  /** The store's own connection (not the user's client). */
  get connection(): Connection {
    return this.link.client;
  }

  get guardState(): GuardState {
    return this.guard.current;
  }

  /** Calls `waiter` once, after the next reply from Redis (for engines with something to deliver). */
  onNextSuccess(waiter: () => void): void {
    this.guard.onNextSuccess(waiter);
  }

  /**
   * Runs a script; `callbacks` hears how it went (see `ScriptCallbacks`). Callbacks rather than a
   * promise: while Redis is healthy the reply reaches the engine straight from the client's
   * promise, with no promise of ours in between (each one is a hop on every call).
   */
  run(script: string, key: string, args: readonly (string | number)[], callbacks: ScriptCallbacks): void {
    if (this.operations.hasListeners) callbacks = this.timed(script, callbacks);
    const fn = this.scripts.get(script);
    if (fn !== undefined && (!this.guard.isOpen || this.flushing) && !this.closed && this.link.ready) {
      // The common case.
      this.inflight.watch(fn(key, ...args), key, performance.now() + this.settings.commandTimeout, callbacks);
      return;
    }
    const refusal = this.refusal(fn);
    if (refusal !== undefined) {
      refuse(callbacks, refusal);
      return;
    }
    // Not connected yet: wait for the first connection, within the same timeout. A call that timed
    // out is forgotten, never sent later (its caller has moved on).
    const deadline = performance.now() + this.settings.commandTimeout;
    this.link.whenFirstReady(
      this.settings.commandTimeout,
      () => {
        if (this.closed) refuse(callbacks, new StoreUnavailableError('the store is closed', 'closed'));
        else this.inflight.watch((fn as ScriptFn)(key, ...args), key, deadline, callbacks);
      },
      (why) => {
        const error =
          why === 'timeout'
            ? new StoreUnavailableError(
                `Redis did not answer within ${this.settings.commandTimeout} ms`,
                'timeout',
              )
            : new StoreUnavailableError('Redis connection ended', 'connection');
        this.guard.failed(error);
        callbacks.failed(error, 'not-applied');
      },
    );
  }

  /** Why a call cannot try Redis now, or undefined when it can wait for the first connection. */
  private refusal(fn: ScriptFn | undefined): StoreUnavailableError | undefined {
    if (fn === undefined) return new StoreUnavailableError('unknown script', 'reply');
    if (this.closed) return new StoreUnavailableError('the store is closed', 'closed');
    if (this.guard.isOpen) return new StoreUnavailableError('Redis failed repeatedly just now', 'guard_open');
    if (!this.link.wasReady) return undefined;
    const lost = new StoreUnavailableError(`Redis connection is ${this.link.status}`, 'connection');
    this.guard.failed(lost);
    return lost;
  }

  private timed(script: string, callbacks: ScriptCallbacks): ScriptCallbacks {
    const start = performance.now();
    const emit = (ok: boolean, error?: unknown) =>
      this.operations.emit({
        type: 'OPERATION',
        operation: script,
        durationMs: performance.now() - start,
        ok,
        ...(ok ? {} : { error }),
      });
    return {
      reply: (reply) => {
        emit(true);
        callbacks.reply(reply);
      },
      failed: (error, fate) => {
        emit(false, error);
        callbacks.failed(error, fate);
      },
      lateReply: (reply) => callbacks.lateReply(reply),
      lateFailed: (error) => callbacks.lateFailed(error),
    };
  }

  // ------------------------------------------------------------------ the guard's probe

  /** Background: never keeps the process alive. */
  private scheduleProbe(): void {
    if (this.closed || this.probeTimer !== undefined) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      this.probe();
    }, this.settings.guardWaitDurationMs);
    this.probeTimer.unref?.();
  }

  private probe(): void {
    if (this.closed || this.probing || !this.guard.isOpen) return;
    if (!this.link.ready) return; // the connection's 'ready' probes when it is back
    this.probing = true;
    const fn = this.scripts.get(PROBE_SCRIPT.name) as ScriptFn;
    const done = () => {
      this.probing = false;
      if (this.guard.isOpen) this.scheduleProbe();
    };
    const key = this.probeKey;
    this.inflight.watch(
      fn(key, this.settings.processId),
      key,
      performance.now() + this.settings.commandTimeout,
      { reply: done, failed: done, lateReply: () => {}, lateFailed: () => {} },
    );
  }

  /**
   * Registers an engine's part in closing the store: `flush` sends what it still owes Redis
   * (releases of slots nobody uses, outcomes still waiting), which close() lets go out, past an
   * open guard, and waits for (within the command timeout); `closed` runs once the connection is
   * gone, to count what did not make it.
   */
  onClose(part: ClosingPart): () => void {
    this.closers.add(part);
    return () => this.closers.delete(part);
  }

  private readonly closers = new Set<ClosingPart>();
  private closing: Promise<void> | undefined;
  /** close() has begun: the engines' last operations go to Redis whatever the guard says. */
  private flushing = false;

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const parts = [...this.closers];
    this.closers.clear();
    this.flushing = true;
    for (const part of parts) guarded(part.flush);
    // Batches leave in a nextTick; their answers come within the command timeout.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.inflight.whenIdle(this.settings.commandTimeout);
    this.closed = true;
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    await this.link.close(this.settings.commandTimeout);
    for (const part of parts) guarded(part.closed);
  }
}

/** An engine's part in closing the store (see `RedisRunner.onClose`). */
export interface ClosingPart {
  flush(): void;
  closed(): void;
}

function guarded(fn: () => void): void {
  try {
    fn();
  } catch {
    // an engine's last words must not keep the store open
  }
}

/**
 * A key of its own in the same Cluster slot as `key` (the same text up to its hash tag's end), so
 * that the probe never touches a policy's state.
 */
export function probeKeyFor(key: string, prefix: string): string {
  const tagEnd = key.lastIndexOf('}');
  return tagEnd < 0 ? `${prefix}:probe` : `${key.slice(0, tagEnd + 1)}:probe`;
}

/** Refuses a call without trying Redis; like every answer, never synchronously. */
function refuse(callbacks: ScriptCallbacks, error: StoreUnavailableError): void {
  queueMicrotask(() => {
    try {
      callbacks.failed(error, 'not-applied');
    } catch {
      // a caller's handler must not turn into an unhandled error
    }
  });
}
