import { describe, expect, it } from 'vitest';
import { BREAKER_CONFIG, type BreakerConfigValues, packBreakerConfig } from './breaker-config.js';
import {
  type BreakerOp,
  exceededOf,
  forcedTransitionArgs,
  packOp,
  packOps,
  parseBreakerReply,
  transitionOf,
} from './breaker-ops.js';

const op = (code: BreakerOp['code'], a: string | number = '', b: string | number = 0, c = 0): BreakerOp => ({
  code,
  a,
  b,
  c,
});

describe('packing operations', () => {
  it('each operation is its letter and its arguments, comma-separated', () => {
    expect(packOp(op('A'))).toBe('A');
    expect(packOp(op('G'))).toBe('G');
    expect(packOp(op('R', 4, 17, 3))).toBe('R4,17,3');
    expect(packOp(op('R', -1, 0, 0))).toBe('R-1,0,0');
    expect(packOp(op('L', 4, 17))).toBe('L4,17');
    expect(packOp(op('T', 'FORCED_OPEN'))).toBe('TFORCED_OPEN');
    expect(packOp(op('O', 4, 'FAILURE_RATE'))).toBe('O4,FAILURE_RATE');
  });

  it('marks a batch of acquires and successes with +, and asks for a renewal with E, last', () => {
    expect(packOps([op('R', 0, 0, 0), op('A')], false)).toBe('+R0,0,0 A');
    expect(packOps([op('R', 0, 0, 0), op('A')], true)).toBe('+R0,0,0 A E');
    expect(packOps([op('R', 0, 0, 1), op('A')], true)).toBe('R0,0,1 A E');
    for (const other of [op('G'), op('L', 1, 2), op('T', 'RESET'), op('O', 1, 'FAILURE_COUNT')]) {
      expect(packOps([op('A'), other], false).startsWith('+')).toBe(false);
    }
  });
});

describe('a forced transition', () => {
  it("runs one T with the stored config, the operator's origin apart, on the script's clock", () => {
    const config = { ttlMs: 1000, name: 'x' } as unknown as BreakerConfigValues;
    expect(() => forcedTransitionArgs(config, 'RESET', 'cli')).toThrow(/no value/);
    const full = Object.fromEntries(
      BREAKER_CONFIG.filter((arg) => !('apart' in arg)).map((arg) => [arg.name, '1']),
    ) as unknown as BreakerConfigValues;
    expect(forcedTransitionArgs(full, 'FORCED_OPEN', 'cli@host')).toEqual([
      '',
      packBreakerConfig(full),
      'cli@host',
      'TFORCED_OPEN',
    ]);
  });
});

describe('reading replies', () => {
  it("reads cjson's empty tables ({}) as empty lists", () => {
    const reply = parseBreakerReply('{"r":{},"t":{},"x":{},"z":false,"n":3,"s":"OPEN"}');
    expect(reply).toEqual({ r: [], t: [], x: [], z: false, n: 3, s: 'OPEN' });
  });

  it('keeps per-operation results, the view and the reset reason', () => {
    const reply = parseBreakerReply(
      '{"r":[[2,0],[-1],1,0],"t":{},"x":{},"z":false,"n":2,"s":"CLOSED","g":"not JSON",' +
        '"v":{"state":"CLOSED","counts":[4,1,0,0,2],"notPermitted":3,"due":0}}',
    );
    expect(reply.r).toEqual([[2, 0], [-1], 1, 0]);
    expect(reply.g).toBe('not JSON');
    expect(reply.v).toEqual({ state: 'CLOSED', counts: [4, 1, 0, 0, 2], notPermitted: 3, due: 0 });
    expect(() => parseBreakerReply('nope')).toThrow();
  });

  it("turns the script's counts into the rates the in-process engine reports", () => {
    expect(
      transitionOf({
        from: 'CLOSED',
        to: 'OPEN',
        at: 5,
        reason: 'FAILURE_RATE',
        until: 65,
        counts: [4, 3, 1, 1, 4],
      }),
    ).toEqual({
      from: 'CLOSED',
      to: 'OPEN',
      at: 5,
      reason: 'FAILURE_RATE',
      failureRate: 75,
      slowCallRate: 25,
      until: 65,
    });
    expect(
      transitionOf({
        from: 'OPEN',
        to: 'HALF_OPEN',
        at: 65,
        reason: 'WAIT_ELAPSED',
        until: 0,
        counts: [1, 1, 0, 0, 4],
      }),
    ).toMatchObject({ failureRate: -1, slowCallRate: -1 });
    expect(exceededOf({ type: 'SLOW_CALL_RATE_EXCEEDED', at: 7, counts: [10, 0, 6, 0, 5] })).toEqual({
      type: 'SLOW_CALL_RATE_EXCEEDED',
      at: 7,
      rate: 60,
    });
    expect(exceededOf({ type: 'FAILURE_RATE_EXCEEDED', at: 7, counts: [10, 5, 6, 0, 5] }).rate).toBe(50);
  });
});
