import { isObservable, type Observable } from 'rxjs';
import { eventsOf } from './events-of.js';
import type { EventShape, EventSource, FleetEvent, FleetSource } from './types.js';

/** The latest events of a source, for diagnostics (a debug endpoint, a crash report). */
export interface RecentEvents<E> {
  /** The most events kept. */
  readonly capacity: number;
  /** Events kept now (at most `capacity`). */
  readonly size: number;
  /** Events seen since the buffer was created (or cleared), kept or not. */
  readonly total: number;
  /** The kept events, oldest first (a copy). */
  snapshot(): E[];
  /** Forgets the kept events. */
  clear(): void;
  /** Stops listening; the kept events stay readable. */
  close(): void;
  /** False once closed or once the source ended. */
  readonly listening: boolean;
}

export const RECENT_EVENTS_DEFAULT_CAPACITY = 100;

/**
 * Subscribes to `source` (a policy, a registry, a RedisStore, or any Observable) at once and keeps
 * its latest `capacity` events in a ring buffer (default 100). Call `close()` to stop listening.
 */
export function recentEvents<SE extends EventShape>(
  source: FleetSource<SE>,
  capacity?: number,
): RecentEvents<FleetEvent<SE>>;
export function recentEvents<E extends EventShape>(
  source: EventSource<E>,
  capacity?: number,
): RecentEvents<E>;
export function recentEvents<E>(source: Observable<E>, capacity?: number): RecentEvents<E>;
export function recentEvents(
  source: Observable<unknown> | EventSource<EventShape>,
  capacity: number = RECENT_EVENTS_DEFAULT_CAPACITY,
): RecentEvents<unknown> {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 10_000_000) {
    throw new RangeError(`recentEvents: capacity must be an integer in [1, 10000000], got ${capacity}`);
  }
  const events: Observable<unknown> = isObservable(source) ? source : eventsOf(source);
  const ring = new RingBuffer<unknown>(capacity);
  let listening = true;
  const subscription = events.subscribe({
    next: (event) => ring.push(event),
    error: () => {
      listening = false;
    },
    complete: () => {
      listening = false;
    },
  });
  return {
    capacity,
    get size() {
      return ring.size;
    },
    get total() {
      return ring.total;
    },
    get listening() {
      return listening && !subscription.closed;
    },
    snapshot: () => ring.toArray(),
    clear: () => ring.clear(),
    close: () => {
      listening = false;
      subscription.unsubscribe();
    },
  };
}

/** A fixed-size ring: pushing into a full ring overwrites the oldest entry. */
class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  /** Index of the oldest entry. */
  private head = 0;
  size = 0;
  total = 0;

  constructor(readonly capacity: number) {
    // Grown on demand: a large capacity costs nothing until events arrive.
    this.items = [];
  }

  push(item: T): void {
    this.total++;
    if (this.size < this.capacity) {
      this.items[(this.head + this.size) % this.capacity] = item;
      this.size++;
      return;
    }
    this.items[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
  }

  toArray(): T[] {
    const out = new Array<T>(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.items[(this.head + i) % this.capacity] as T;
    return out;
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
    this.size = 0;
    this.total = 0;
  }
}
