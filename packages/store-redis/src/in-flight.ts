import { type CallFate, classifyCallError, StoreUnavailableError } from './store-errors.js';

/** A script's reply as ioredis gives it: text, an integer, an array (each script says which). */
export type ScriptReply = unknown;

/**
 * What the caller of a script call hears. Exactly one of `reply` and `failed` is called, never
 * synchronously, and `failed` within the command timeout at the latest. After
 * `failed(_, 'pending')` (a timeout), exactly one of `lateReply` and `lateFailed` follows, when
 * Redis answers after all or the call fails for good: Redis may have run a call its caller gave up
 * on, and what it granted then must be given back.
 */
export interface ScriptCallbacks {
  reply(reply: ScriptReply): void;
  failed(error: StoreUnavailableError, fate: CallFate): void;
  lateReply(reply: ScriptReply): void;
  lateFailed(error: StoreUnavailableError): void;
}

/** Told about every call's outcome, for the store's health (the guard) and for timing. */
export interface CallObserver {
  /** A call issued at `issuedAt` (performance.now()) was answered; `late`: after its caller gave up. */
  succeeded(issuedAt: number, late: boolean): void;
  /** The call on `key` failed (not for refusals the runner decided itself). */
  failedWith(error: StoreUnavailableError, key: string): void;
}

interface InFlight {
  readonly key: string;
  readonly deadline: number;
  readonly callbacks: ScriptCallbacks;
  /** `settled`: answered in time; `late`: timed out, waiting for its late answer. */
  state: 'waiting' | 'settled' | 'late';
}

/**
 * Calls in flight, oldest first, each with its deadline. They all have the same timeout, so one
 * timer (set for the oldest) serves them all, instead of a timer per call. (Calls that waited for
 * the first connection keep the deadline they started with; they are all sent when it is ready,
 * before any other call, so the list stays in deadline order.) Redis answers a connection's calls
 * in order, so a settled call is normally the oldest: the list is trimmed as calls settle, and
 * holds no settled call (nor its reply) until the timer comes round. The timer is unref'd: a caller
 * waiting for Redis is kept alive by the socket, not by this timer.
 */
export class InFlightCalls {
  private readonly list: InFlight[] = [];
  private head = 0;
  private sweeping = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly observer: CallObserver,
  ) {}

  /** Follows `pending` (a call on `key`) until it settles; its caller hears by `deadline` at the latest. */
  watch(pending: Promise<ScriptReply>, key: string, deadline: number, callbacks: ScriptCallbacks): void {
    const call: InFlight = { key, deadline, callbacks, state: 'waiting' };
    this.list.push(call);
    if (!this.sweeping) this.sweepAt(deadline);
    pending.then(
      (reply) => {
        if (call.state === 'late') {
          call.state = 'settled';
          this.observer.succeeded(deadline - this.timeoutMs, true);
          guarded(() => callbacks.lateReply(reply));
          return;
        }
        this.settle(call);
        this.observer.succeeded(deadline - this.timeoutMs, false);
        deliver(callbacks, reply);
      },
      (raw: unknown) => {
        const { error, fate } = classifyCallError(raw);
        if (call.state === 'late') {
          call.state = 'settled';
          guarded(() => callbacks.lateFailed(error));
          return;
        }
        this.settle(call);
        this.observer.failedWith(error, key);
        guarded(() => callbacks.failed(error, fate));
      },
    );
  }

  private settle(call: InFlight): void {
    call.state = 'settled';
    if (this.list[this.head] === call) this.trim();
  }

  /** Resolves once no call is waiting for its answer (late ones aside), or after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.head === this.list.length) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.idleWaiters;
      function done(): void {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  private readonly idleWaiters = new Set<() => void>();

  /** Drops the calls at the head of the list that are no longer waiting. */
  private trim(): void {
    const list = this.list;
    let i = this.head;
    for (let call = list[i]; call !== undefined && call.state !== 'waiting'; call = list[i]) i++;
    if (i === list.length) {
      list.length = 0;
      i = 0;
    } else if (i > 1024 && i * 2 > list.length) {
      list.splice(0, i);
      i = 0;
    }
    this.head = i;
    if (i === list.length && this.idleWaiters.size > 0) for (const done of [...this.idleWaiters]) done();
  }

  private sweepAt(deadline: number): void {
    this.sweeping = true;
    const timer = setTimeout(this.sweep, Math.max(1, Math.ceil(deadline - performance.now())));
    timer.unref?.();
  }

  private readonly sweep = (): void => {
    this.sweeping = false;
    const now = performance.now();
    const list = this.list;
    for (let i = this.head, call = list[i]; call !== undefined; call = list[++i]) {
      if (call.state !== 'waiting') continue;
      if (call.deadline > now) break;
      call.state = 'late';
      const timeout = new StoreUnavailableError(
        `Redis did not answer within ${this.timeoutMs} ms`,
        'timeout',
      );
      this.observer.failedWith(timeout, call.key);
      guarded(() => call.callbacks.failed(timeout, 'pending'));
    }
    this.trim();
    const oldest = list[this.head];
    if (oldest !== undefined) this.sweepAt(oldest.deadline);
  };
}

/** A reply to its caller; a throw while applying it fails the call (the reply was unreadable). */
function deliver(callbacks: ScriptCallbacks, reply: ScriptReply): void {
  try {
    callbacks.reply(reply);
  } catch (error) {
    const unreadable = new StoreUnavailableError(
      `a reply the store cannot read: ${String(error)}`,
      'reply',
      error,
    );
    // Redis ran the call: what it did stands, only its answer is lost.
    guarded(() => callbacks.failed(unreadable, 'applied'));
  }
}

function guarded(fn: () => void): void {
  try {
    fn();
  } catch {
    // a caller's handler must not turn into an unhandled rejection
  }
}
