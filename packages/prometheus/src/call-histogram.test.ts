import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CallHistogram } from './call-histogram.js';

describe('CallHistogram', () => {
  it('exposes exactly what a prom-client Histogram exposes for the same observations', async () => {
    const buckets = [0.01, 0.1, 1];
    const ours = new Registry();
    const theirs = new Registry();
    const h = new CallHistogram('calls_seconds', 'help', buckets);
    ours.registerMetric(h.asMetric());
    const reference = new Histogram({
      name: 'calls_seconds',
      help: 'help',
      labelNames: ['name', 'kind'],
      buckets,
      registers: [theirs],
    });
    const cell = h.cell({ name: 'a', kind: 'ok' });
    h.cell({ name: 'b', kind: 'ok' }); // a series at 0
    reference.zero({ name: 'b', kind: 'ok' });
    for (const v of [0.005, 0.01, 0.010001, 0.5, 1, 3]) {
      h.observe(cell, v);
      reference.observe({ name: 'a', kind: 'ok' }, v);
    }
    const lines = async (r: Registry) => (await r.metrics()).split('\n').sort();
    expect(await lines(ours)).toEqual(await lines(theirs));
    expect(await ours.metrics()).toContain('calls_seconds_bucket{le="0.01",name="a",kind="ok"} 2');

    const json = await ours.getMetricsAsJSON();
    expect(json[0]).toMatchObject({ name: 'calls_seconds', type: 'histogram' });
    ours.resetMetrics();
    expect(await ours.metrics()).toContain('calls_seconds_count{name="a",kind="ok"} 0');
    h.remove({ name: 'a' });
    expect(await ours.metrics()).not.toContain('name="a"');
  });

  it('rejects empty or non-finite buckets', () => {
    expect(() => new CallHistogram('x', 'h', [])).toThrow(/buckets/);
    expect(() => new CallHistogram('x', 'h', [1, Number.POSITIVE_INFINITY])).toThrow(/buckets/);
  });
});
