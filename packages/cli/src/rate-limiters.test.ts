import { describe, expect, it } from 'vitest';
import { rateLimiterStatusOf } from './rate-limiters.js';

const KEY = 'bw:{rl:api}:state';
/** What every status of the limiter `api` at KEY says of which limiter it is. */
const API = { kind: 'ratelimiter', name: 'api', key: KEY } as const;

describe('a rate limiter as the CLI shows it (its state string, as rate-limiter.lua writes it)', () => {
  it('fixed window: the permits left in the period the state is of', () => {
    expect(rateLimiterStatusOf('api', KEY, 'F 28000 4', 59_000)).toEqual({
      ...API,
      algorithm: 'fixed-window',
      period: 28_000,
      permitsLeft: 4,
      permitsReserved: 0,
      nextPermitAt: null,
      ttlMs: 59_000,
    });
  });

  it('fixed window: permits reserved ahead by callers waiting for a later period leave none now', () => {
    expect(rateLimiterStatusOf('api', KEY, 'F 28000 -3', 119_000)).toMatchObject({
      algorithm: 'fixed-window',
      permitsLeft: 0,
      permitsReserved: 3,
    });
  });

  it('GCRA: when the next permit is free', () => {
    expect(rateLimiterStatusOf('api', KEY, 'G 12000.5', 70_000)).toEqual({
      ...API,
      algorithm: 'gcra',
      period: null,
      permitsLeft: null,
      permitsReserved: null,
      nextPermitAt: 12_000.5,
      ttlMs: 70_000,
    });
  });

  it('anything else is INVALID, with the reason (the script resets such a key on its next call)', () => {
    for (const raw of ['', 'F x 1', 'F 1.5 1', 'G', 'G 1 2', 'H 1', '{"state":"CLOSED"}']) {
      const status = rateLimiterStatusOf('api', KEY, raw, -1);
      expect(status.algorithm, raw).toBe('INVALID');
      expect(status.problem, raw).toMatch(/next call/);
    }
  });
});
