import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Lru } from './lru.js';

/** The model: a list from least to most recently used. */
class Model {
  readonly order: { key: string; value: number }[] = [];
  constructor(readonly max: number) {}
  get(key: string): number | undefined {
    const i = this.order.findIndex((e) => e.key === key);
    if (i < 0) return undefined;
    const [e] = this.order.splice(i, 1);
    this.order.push(e);
    return e.value;
  }
  set(key: string, value: number): void {
    const i = this.order.findIndex((e) => e.key === key);
    if (i >= 0) this.order.splice(i, 1);
    this.order.push({ key, value });
    if (this.order.length > this.max) this.order.shift();
  }
  delete(key: string): boolean {
    const i = this.order.findIndex((e) => e.key === key);
    if (i >= 0) this.order.splice(i, 1);
    return i >= 0;
  }
}

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g');
const command = fc.oneof(
  fc.record({ op: fc.constant('get' as const), key }),
  fc.record({ op: fc.constant('peek' as const), key }),
  fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({ op: fc.constant('clear' as const) }),
);

describe('Lru (the in-process tier)', () => {
  it('agrees with the model on every sequence: values, size, bound and eviction order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(command, { maxLength: 80 }), (max, commands) => {
        const lru = new Lru<number>(max);
        const model = new Model(max);
        for (const c of commands) {
          switch (c.op) {
            case 'get':
              expect(lru.get(c.key)).toBe(model.get(c.key));
              break;
            case 'peek':
              expect(lru.peek(c.key)).toBe(model.order.find((e) => e.key === c.key)?.value);
              break;
            case 'set':
              lru.set(c.key, c.value);
              model.set(c.key, c.value);
              break;
            case 'delete':
              expect(lru.delete(c.key)).toBe(model.delete(c.key));
              break;
            case 'clear':
              lru.clear();
              model.order.length = 0;
              break;
          }
          expect(lru.size).toBeLessThanOrEqual(max);
          expect([...lru.keys()]).toEqual(model.order.map((e) => e.key));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('hands out the stored value itself (by reference)', () => {
    const lru = new Lru<{ n: number }>(2);
    const value = { n: 1 };
    lru.set('k', value);
    expect(lru.get('k')).toBe(value);
  });
});
