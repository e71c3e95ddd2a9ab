/**
 * Per-name values held weakly: what the policies of one name share beyond their state (the
 * listeners, the window's shape they must agree on) must live as long as one of them does, or as
 * the name's cell, and no longer. Policies and cells hold the value; this table only finds it, and
 * forgets the name once the value was collected.
 */
export class WeakNameTable<T extends object> {
  private readonly refs = new Map<string, WeakRef<T>>();
  private readonly collected = new FinalizationRegistry<string>((name) => {
    // The name may have got a new value since: forget only a collected one.
    if (this.refs.get(name)?.deref() === undefined) this.refs.delete(name);
  });

  get(name: string): T | undefined {
    return this.refs.get(name)?.deref();
  }

  set(name: string, value: T): void {
    this.refs.set(name, new WeakRef(value));
    this.collected.register(value, name);
  }
}
