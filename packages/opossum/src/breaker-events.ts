import { EventEmitter } from 'node:events';

type Listener = (...args: unknown[]) => void;

/**
 * The breaker's events, typed as @types/opossum types them (`on` with one overload per event), and
 * kept track of: `fire` and `success` go out on every call, and `emit()` gathers its arguments into
 * an array even when nobody listens, so the breaker asks `fireListened` / `successListened` first
 * (bench `opossum`). Every way of adding or removing a listener updates them.
 */
export abstract class BreakerEvents<TI extends unknown[], TR> extends EventEmitter {
  protected fireListened = false;
  protected successListened = false;

  /** Emitted when `resetTimeout` has passed: one trial call may go through. */
  override on(event: 'halfOpen', listener: (resetTimeout: number) => void): this;
  /** Emitted when the breaker closes: calls go through again. */
  override on(event: 'close', listener: () => void): this;
  /** Emitted when the breaker opens. */
  override on(event: 'open', listener: () => void): this;
  /** Emitted when the breaker has been shut down. */
  override on(event: 'shutdown', listener: () => void): this;
  /** Emitted for every call, with its arguments. */
  override on(event: 'fire', listener: (args: TI) => void): this;
  /** Emitted when a call is served from the cache. */
  override on(event: 'cacheHit', listener: () => void): this;
  /** Emitted when the cache is on and has nothing for the call. */
  override on(event: 'cacheMiss', listener: () => void): this;
  /** Emitted when a call shares another call in flight (coalescing). */
  override on(event: 'coalesceCacheHit', listener: () => void): this;
  /** Emitted when coalescing is on and no call with the same key runs. */
  override on(event: 'coalesceCacheMiss', listener: () => void): this;
  /** Emitted by `clearCache()`. */
  override on(event: 'cacheInvalidate', listener: () => void): this;
  /** Emitted when the breaker refuses a call (open, or half-open with its trial running). */
  override on(event: 'reject', listener: (err: Error) => void): this;
  /** Emitted when a call takes longer than `timeout`. */
  override on(event: 'timeout', listener: (err: Error) => void): this;
  /** Emitted when a call succeeds (or fails with an error `errorFilter` excuses). */
  override on(event: 'success', listener: (result: TR, latencyMs: number) => void): this;
  /** Emitted when `capacity` calls are running and another comes. */
  override on(event: 'semaphoreLocked', listener: (err: Error) => void): this;
  /** Emitted when the health check's promise rejects. */
  override on(event: 'healthCheckFailed', listener: (err: Error) => void): this;
  /** Emitted when the fallback runs, with what it returned. */
  override on(event: 'fallback', listener: (result: unknown, err: Error) => void): this;
  /** Emitted when a call fails (errors `errorFilter` excuses excepted). */
  override on(event: 'failure', listener: (err: Error, latencyMs: number, args: TI) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return this.listenersChanged(super.on(event, listener as Listener));
  }

  override addListener(event: string | symbol, listener: (...args: never[]) => void): this {
    return this.listenersChanged(super.addListener(event, listener as Listener));
  }
  override once(event: string | symbol, listener: (...args: never[]) => void): this {
    return this.listenersChanged(super.once(event, listener as Listener));
  }
  override prependListener(event: string | symbol, listener: (...args: never[]) => void): this {
    return this.listenersChanged(super.prependListener(event, listener as Listener));
  }
  override prependOnceListener(event: string | symbol, listener: (...args: never[]) => void): this {
    return this.listenersChanged(super.prependOnceListener(event, listener as Listener));
  }
  override removeListener(event: string | symbol, listener: (...args: never[]) => void): this {
    return this.listenersChanged(super.removeListener(event, listener as Listener));
  }
  override off(event: string | symbol, listener: (...args: never[]) => void): this {
    return this.listenersChanged(super.off(event, listener as Listener));
  }
  override removeAllListeners(event?: string | symbol): this {
    // Node tells "all events" from "the event undefined" by the number of arguments.
    return this.listenersChanged(
      event === undefined ? super.removeAllListeners() : super.removeAllListeners(event),
    );
  }

  private listenersChanged(self: this): this {
    this.fireListened = super.listenerCount('fire') !== 0;
    this.successListened = super.listenerCount('success') !== 0;
    return self;
  }
}
