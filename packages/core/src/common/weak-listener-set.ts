/**
 * Listeners held weakly. A store shares one set between every policy of a name (and carries it to
 * the name's next cell), so holding listeners strongly would keep alive every policy that ever
 * used the name, including the ones their users dropped without `close()`. Each listener is
 * registered through a `WeakRef` that its owner (an engine) keeps together with the listener
 * itself: the listener lives exactly as long as the policy that owns it.
 */
export class WeakListenerSet<A extends unknown[]> {
  private readonly refs = new Set<WeakRef<(...args: A) => void>>();
  /** Refs of collected listeners are pruned when the set reaches this size: O(1) amortized per add. */
  private pruneAt = 8;

  /** Registered refs, including any whose listener was collected and not yet pruned. */
  get size(): number {
    return this.refs.size;
  }

  add(ref: WeakRef<(...args: A) => void>): void {
    this.refs.add(ref);
    if (this.refs.size >= this.pruneAt) this.prune();
  }

  delete(ref: WeakRef<(...args: A) => void>): void {
    this.refs.delete(ref);
  }

  /** Calls every listener still alive with `args`. */
  emit(...args: A): void {
    for (const ref of this.refs) {
      const listener = ref.deref();
      if (listener === undefined) this.refs.delete(ref);
      else listener(...args);
    }
  }

  private prune(): void {
    for (const ref of this.refs) if (ref.deref() === undefined) this.refs.delete(ref);
    this.pruneAt = Math.max(8, this.refs.size * 2);
  }
}
