import { describe, expect, it } from 'vitest';
import { type Counts, rateOf, readBreakerDocument, windowCountsAt } from './breaker-document.js';

describe('rateOf', () => {
  it('is a percentage of the calls, or -1 below the minimum (as the in-process engine computes it)', () => {
    const counts: Counts = [8, 2, 1, 0, 5];
    expect(rateOf(2, counts)).toBe(25);
    expect(rateOf(1, counts)).toBe(12.5);
    expect(rateOf(2, [4, 2, 0, 0, 5])).toBe(-1);
    expect(rateOf(0, [0, 0, 0, 0, 0])).toBe(-1);
  });
});

describe('readBreakerDocument', () => {
  it('reads a document in any key order, and says why what is not one is not', () => {
    const doc = readBreakerDocument('{"window":{"type":"COUNT"},"state":"OPEN","cfg":"x"}');
    expect(doc).toEqual({ doc: { window: { type: 'COUNT' }, state: 'OPEN', cfg: 'x' } });
    expect(readBreakerDocument('nope')).toEqual({ problem: 'not JSON' });
    expect(readBreakerDocument('[1]')).toEqual({ problem: 'not a JSON object' });
    expect(readBreakerDocument('null')).toEqual({ problem: 'not a JSON object' });
    expect(readBreakerDocument('{"state":1,"window":{}}')).toEqual({ problem: 'no state' });
    expect(readBreakerDocument('{"state":"CLOSED"}')).toEqual({ problem: 'no window' });
  });
});

describe('windowCountsAt', () => {
  // seconds 8, 9, 10, 11 sit in buckets 0, 1, 2, 3
  const time = {
    type: 'TIME',
    size: 4,
    lastSecond: 11,
    calls: 6,
    failures: 3,
    slow: 2,
    slowFailures: 1,
    minimumCalls: 2,
    bucketCalls: [1, 1, 2, 2],
    bucketFailures: [1, 0, 1, 1],
    bucketSlow: [1, 0, 0, 1],
    bucketSlowFailures: [1, 0, 0, 0],
  };
  const at = (second: number) => windowCountsAt(time, second * 1000 + 500);

  it('decays a time window as the script would on its next call, without writing', () => {
    expect(at(11)).toEqual([6, 3, 2, 1, 2]);
    expect(at(12)).toEqual([5, 2, 1, 0, 2]); // second 8 (bucket 0) left the window
    expect(at(13)).toEqual([4, 2, 1, 0, 2]); // and second 9
    expect(at(15)).toEqual([0, 0, 0, 0, 2]); // all of it
    expect(at(10)).toEqual([6, 3, 2, 1, 2]); // a clock behind the window's: as stored
    expect(time.calls).toBe(6);
  });

  it('reads a count window as stored, and a spoiled one as zeros', () => {
    expect(
      windowCountsAt({ type: 'COUNT', calls: 4, failures: 1, slow: 0, slowFailures: 0, minimumCalls: 3 }, 0),
    ).toEqual([4, 1, 0, 0, 3]);
    expect(windowCountsAt({ type: 'COUNT', calls: 'x' }, 0)).toEqual([0, 0, 0, 0, 0]);
    expect(windowCountsAt({ ...time, bucketCalls: 'x' }, 12_500)[0]).toBe(6);
  });
});
