import { describe, expect, it } from 'vitest';
import { bulkheadStatusOf } from './bulkheads.js';

const KEY = 'bw:{bh:pool}:leases';

describe('a bulkhead as the CLI shows it (its lease set, as bulkhead.lua keeps it)', () => {
  it('the leases held, soonest expiry first; expired ones apart; whether callers wait', () => {
    // ZRANGE ... WITHSCORES: member, score, ... in score order; '~' marks callers waiting
    const set = ['p1:1', '4000', 'p1:2', '5000', 'p2:1', '7000', '~', '8000'];
    expect(bulkheadStatusOf('pool', KEY, set, 3_000, 5_000)).toEqual({
      kind: 'bulkhead',
      name: 'pool',
      key: KEY,
      leasesHeld: 1,
      leases: [{ id: 'p2:1', expiresAt: 7_000 }],
      // a lease is reclaimed once its expiry is reached (score <= now)
      expiredLeases: 2,
      callersWaiting: true,
      ttlMs: 3_000,
    });
  });

  it('a lapsed waiting mark means nobody waits any more', () => {
    expect(bulkheadStatusOf('pool', KEY, ['~', '4000', 'p:1', '9000'], 4_000, 5_000)).toMatchObject({
      leasesHeld: 1,
      callersWaiting: false,
    });
  });

  it('a score that is no number is INVALID, with the reason', () => {
    const status = bulkheadStatusOf('pool', KEY, ['p:1', 'inf'], -1, 5_000);
    expect(status.problem).toMatch(/never expires/);
  });
});
