import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.js';
import type { BulkheadEvent } from './bulkhead-events.js';
import { BulkheadRegistry } from './bulkhead-registry.js';

describe('BulkheadRegistry', () => {
  it('returns one instance per name, built from named configs over the default', () => {
    const registry = BulkheadRegistry.of({
      configs: { default: { maxConcurrentCalls: 3 }, patient: { maxWaitDuration: 500 } },
    });
    const a = registry.bulkhead('a');
    expect(registry.bulkhead('a', { maxConcurrentCalls: 1 })).toBe(a);
    expect(a.config.maxConcurrentCalls).toBe(3);
    expect(registry.bulkhead('p', 'patient').config).toMatchObject({
      maxConcurrentCalls: 3,
      maxWaitDuration: 500,
    });
    expect(registry.getAllBulkheads().map((b) => b.name)).toEqual(['a', 'p']);
    expect(registry.find('p')?.name).toBe('p');
    expect(() => registry.bulkhead('x', 'missing')).toThrow(ConfigError);
    expect(BulkheadRegistry.ofDefaults().bulkhead('d').config.maxConcurrentCalls).toBe(25);
  });

  it('onEvent follows bulkheads created later and stops at remove', async () => {
    const registry = BulkheadRegistry.ofDefaults();
    const events: BulkheadEvent[] = [];
    const off = registry.onEvent((e) => events.push(e));
    const b = registry.bulkhead('later');
    await b.execute(() => 1);
    expect(events.map((e) => `${e.name} ${e.type}`)).toEqual(['later CALL_PERMITTED', 'later CALL_FINISHED']);
    const removed: string[] = [];
    registry.onRemoved((r) => removed.push(r.name));
    const added: string[] = [];
    registry.onAdded((r) => added.push(r.name));
    registry.bulkhead('other');
    expect(registry.remove('later')).toBe(b);
    expect(removed).toEqual(['later']);
    expect(added).toEqual(['other']);
    off();
  });
});
