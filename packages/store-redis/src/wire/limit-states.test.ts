import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BULKHEAD_WAITING_MARK, readBulkheadState, readRateLimiterState } from './limit-states.js';

describe('readRateLimiterState', () => {
  it('reads a fixed window and a GCRA state, and nothing else', () => {
    expect(readRateLimiterState('F 1765 3')).toEqual({ algorithm: 'fixed-window', period: 1765, permits: 3 });
    expect(readRateLimiterState('F 1765 -2')).toEqual({
      algorithm: 'fixed-window',
      period: 1765,
      permits: -2,
    });
    expect(readRateLimiterState('G 1796603777998')).toEqual({ algorithm: 'gcra', tat: 1796603777998 });
    for (const garbage of ['', 'F 1765', 'F x 3', 'G', 'G 1 2', 'X 1 2', '{"v":1}']) {
      expect(readRateLimiterState(garbage), garbage).toBeUndefined();
    }
  });
});

describe('readBulkheadState', () => {
  it('live leases, expired ones, and the waiting mark, as the script sees them at now', () => {
    const set = ['a:1', '900', 'b:2', '1000', BULKHEAD_WAITING_MARK, '1200', 'c:3', '1500'];
    expect(readBulkheadState(set, 1000)).toEqual({
      leases: [{ id: 'c:3', expiresAt: 1500 }],
      expiredLeases: 2,
      callersWaiting: true,
    });
    expect(readBulkheadState(set, 1300)?.callersWaiting).toBe(false);
    expect(readBulkheadState(['a:1', 'inf-ish'], 0)).toBeUndefined();
  });

  it('uses the mark bulkhead.lua writes', () => {
    const lua = readFileSync(new URL('../lua/bulkhead.lua', import.meta.url), 'utf8');
    expect(lua).toContain(`local MARK = '${BULKHEAD_WAITING_MARK}'`);
  });
});
