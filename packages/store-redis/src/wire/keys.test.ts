import { describe, expect, it } from 'vitest';
import {
  breakerKey,
  bulkheadKeys,
  eventsChannel,
  parsePolicyKey,
  policyKey,
  policyKeyGlob,
  rateLimiterKey,
} from './keys.js';

describe('the key schema', () => {
  it('formats <prefix>:{<kind>:<name>}:<suffix> for each policy', () => {
    expect(breakerKey('bw', 'pricing')).toBe('bw:{cb:pricing}:state');
    expect(rateLimiterKey('bw', 'api')).toBe('bw:{rl:api}:state');
    expect(bulkheadKeys('bw', 'pool')).toEqual({
      leases: 'bw:{bh:pool}:leases',
      channel: 'bw:{bh:pool}:freed',
    });
    expect(eventsChannel('bw')).toBe('bw:events');
  });

  it('parses what it formats, names with ":" and "}" included', () => {
    for (const name of ['pricing', 'upbit/kr:ticker', 'a}b', 'x:{y}']) {
      expect(parsePolicyKey('bw', policyKey('bw', 'cb', name, 'state'))).toEqual({
        kind: 'circuitbreaker',
        name,
        suffix: 'state',
      });
    }
    expect(parsePolicyKey('breakwater', 'breakwater:{rl:a}b}:gcra')).toEqual({
      kind: 'ratelimiter',
      name: 'a}b',
      suffix: 'gcra',
    });
    expect(parsePolicyKey('breakwater', 'breakwater:{bh:pool}:leases')?.kind).toBe('bulkhead');
  });

  it('keeps a kind it does not know as it is, and reads nothing else as a policy key', () => {
    expect(parsePolicyKey('breakwater', 'breakwater:{zz:x}:y')).toEqual({
      kind: 'zz',
      name: 'x',
      suffix: 'y',
    });
    expect(parsePolicyKey('breakwater', 'breakwater:{toString:x}:y')?.kind).toBe('toString');
    expect(parsePolicyKey('breakwater', 'breakwater:events')).toBeUndefined();
    expect(parsePolicyKey('breakwater', 'other:{cb:x}:state')).toBeUndefined();
    expect(parsePolicyKey('breakwater', 'breakwater:{cb:x}')).toBeUndefined();
    expect(parsePolicyKey('breakwater', 'breakwater:{cbx}:state')).toBeUndefined();
  });

  it('scans policy keys with a glob that takes the prefix literally', () => {
    expect(policyKeyGlob('breakwater')).toBe('breakwater:{*');
    expect(policyKeyGlob('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\:{*');
  });
});
