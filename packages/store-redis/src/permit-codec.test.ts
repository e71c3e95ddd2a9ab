import { CURRENT_PERMIT, DENIED_FORCED_OPEN, DENIED_HALF_OPEN, DENIED_OPEN } from '@breakwater/core/engine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALLOW_PERMIT,
  epochOf,
  fallbackPermitOf,
  generationOf,
  isSharedPermit,
  LEASE_SPAN,
  LOCAL_LEASE,
  leaseMember,
  leaseOf,
  localPermit,
  MAX_LEASE,
  nextLease,
  permitOfReply,
  refusedFor,
  sharedPermit,
} from './permit-codec.js';

describe('breaker permits', () => {
  it('a shared permit gives back its generation and lease', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 30 }),
        fc.integer({ min: 0, max: MAX_LEASE }),
        (gen, lease) => {
          const permit = sharedPermit(gen, lease);
          expect(isSharedPermit(permit)).toBe(true);
          expect([generationOf(permit), leaseOf(permit)]).toEqual([gen, lease]);
        },
      ),
    );
  });

  it("reads the script's acquire answers: [generation, lease] granted, [DENIED_*] refused", () => {
    expect(permitOfReply([3, 0])).toBe(sharedPermit(3, 0));
    expect(permitOfReply([3, 17])).toBe(3 * LEASE_SPAN + 17);
    for (const denied of [DENIED_OPEN, DENIED_HALF_OPEN, DENIED_FORCED_OPEN]) {
      expect(permitOfReply([denied])).toBe(denied);
    }
  });

  it('refuses an answer of another shape (its batch fails as unreadable)', () => {
    for (const reply of [null, 3, [], [null], [1, 2, 3], ['1'], [1.5, 0]]) {
      expect(() => permitOfReply(reply)).toThrow(/an acquire answered/);
    }
  });

  it("the manual API's CURRENT_PERMIT goes to Redis as generation -1 without a lease", () => {
    expect(isSharedPermit(CURRENT_PERMIT)).toBe(true);
    expect([generationOf(CURRENT_PERMIT), leaseOf(CURRENT_PERMIT)]).toEqual([-1, 0]);
  });

  it("a local permit is not shared, names its episode, and holds the fallback's permit for that episode only", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 19 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (epoch, own) => {
          const permit = localPermit(epoch, own);
          expect(isSharedPermit(permit)).toBe(false);
          expect(epochOf(permit)).toBe(epoch);
          expect(fallbackPermitOf(permit, epoch)).toBe(own);
          expect(fallbackPermitOf(permit, epoch + 1)).toBeUndefined();
        },
      ),
    );
  });

  it('ALLOW_PERMIT is not shared and holds no fallback permit', () => {
    expect(isSharedPermit(ALLOW_PERMIT)).toBe(false);
    expect(fallbackPermitOf(ALLOW_PERMIT, epochOf(ALLOW_PERMIT))).toBeUndefined();
    expect(Number.isSafeInteger(ALLOW_PERMIT)).toBe(true);
  });
});

describe('bulkhead leases', () => {
  it('counts 1 .. 2^52 and wraps to 1: never the local slot nor ALLOW_PERMIT', () => {
    expect(nextLease(0)).toBe(1);
    expect(nextLease(41)).toBe(42);
    expect(nextLease(2 ** 52)).toBe(1);
    for (const lease of [nextLease(0), nextLease(2 ** 52 - 1), nextLease(2 ** 52)]) {
      expect(lease).not.toBe(LOCAL_LEASE);
      expect(lease).not.toBe(ALLOW_PERMIT);
    }
  });

  it("a lease's member is the engine's prefix and the lease in base 36", () => {
    expect(leaseMember('abc:', 35)).toBe('abc:z');
    expect(leaseMember('abc:', 36)).toBe('abc:10');
  });
});

describe('rate limiter refusals', () => {
  it('-retryAfter in whole ms, at least 1', () => {
    expect(refusedFor(250)).toBe(-250);
    expect(refusedFor(0.2)).toBe(-1);
    expect(refusedFor(0)).toBe(-1);
    expect(refusedFor(10.5)).toBe(-11);
  });
});
