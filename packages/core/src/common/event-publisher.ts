/** Stops a listener; calling it twice is harmless. */
export type Unsubscribe = () => void;

type AnyListener<E> = (event: E) => void;

/**
 * A small typed event hub. Policies check `hasListeners` before building an event, so a
 * policy nobody listens to allocates nothing for events (bench `breaker`, case `ours-count`). A listener that throws never
 * breaks the call that emitted the event: its error becomes a process warning.
 */
export class EventPublisher<E extends { readonly type: string }> {
  private readonly byType = new Map<string, Set<AnyListener<E>>>();
  private readonly any = new Set<AnyListener<E>>();
  private count = 0;

  get hasListeners(): boolean {
    return this.count > 0;
  }

  get listenerCount(): number {
    return this.count;
  }

  /**
   * Whether an event of `type` would reach anyone: a source that publishes often (a cache hit)
   * builds the event only then, even while others listen to its rarer events.
   */
  listensTo(type: E['type']): boolean {
    if (this.count === 0) return false;
    return this.any.size > 0 || (this.byType.get(type)?.size ?? 0) > 0;
  }

  /** Listens to one event type. */
  on<T extends E['type']>(type: T, listener: (event: Extract<E, { type: T }>) => void): Unsubscribe {
    let set = this.byType.get(type);
    if (!set) {
      set = new Set();
      this.byType.set(type, set);
    }
    return this.add(set, listener as AnyListener<E>);
  }

  /** Listens to every event. */
  onEvent(listener: (event: E) => void): Unsubscribe {
    return this.add(this.any, listener);
  }

  emit(event: E): void {
    if (this.count === 0) return;
    const typed = this.byType.get(event.type);
    if (typed) for (const l of typed) safeCall(l, event);
    for (const l of this.any) safeCall(l, event);
  }

  private add(set: Set<AnyListener<E>>, listener: AnyListener<E>): Unsubscribe {
    // Wrap so the same function can be added twice and removed once per handle.
    const entry: AnyListener<E> = (e) => listener(e);
    set.add(entry);
    this.count++;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      set.delete(entry);
      this.count--;
    };
  }
}

function safeCall<E>(listener: AnyListener<E>, event: E): void {
  try {
    listener(event);
  } catch (error) {
    reportListenerError(error);
  }
}

/** A throwing listener is a bug in the listener, not in the call: report it as a process warning. */
export function reportListenerError(error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.emitWarning(`A Breakwater event listener threw: ${detail}`, 'BreakwaterListenerWarning');
}
