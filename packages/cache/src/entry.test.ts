import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEntry, type Entry, type EntryState, encodeEntry, entryState, refreshDue } from './entry.js';

const RANK: Record<EntryState, number> = { fresh: 0, stale: 1, expired: 2 };

/** An entry as the cache makes one: created at `at`, fresh for `ttl`, then stale for `grace`. */
const entryArb = fc
  .record({
    at: fc.integer({ min: 0, max: 2 ** 41 }),
    ttl: fc.integer({ min: 1, max: 10_000_000 }),
    grace: fc.integer({ min: 0, max: 10_000_000 }),
  })
  .map(
    ({ at, ttl, grace }): Entry<number> => ({
      value: 1,
      createdAt: at,
      freshUntil: at + ttl,
      staleUntil: at + ttl + grace,
    }),
  );

describe('the entry state machine: fresh, then stale (grace), then expired', () => {
  it('only moves forward as time passes, and each state holds exactly on its interval', () => {
    fc.assert(
      fc.property(
        entryArb,
        fc.array(fc.integer({ min: 0, max: 30_000_000 }), { maxLength: 20 }),
        (e, steps) => {
          let now = e.createdAt;
          let last = entryState(e, now);
          expect(last).toBe('fresh');
          for (const step of steps) {
            now += step;
            const state = entryState(e, now);
            expect(RANK[state]).toBeGreaterThanOrEqual(RANK[last]);
            expect(state).toBe(now < e.freshUntil ? 'fresh' : now < e.staleUntil ? 'stale' : 'expired');
            last = state;
          }
        },
      ),
    );
  });

  it('without grace an entry is never stale: it goes from fresh to expired', () => {
    fc.assert(
      fc.property(entryArb, fc.integer({ min: 0, max: 30_000_000 }), (e, dt) => {
        const noGrace = { ...e, staleUntil: e.freshUntil };
        expect(entryState(noGrace, e.createdAt + dt)).not.toBe('stale');
      }),
    );
  });

  it('lowering freshUntil (a notice that the value changed) only moves it forward too', () => {
    fc.assert(
      fc.property(entryArb, fc.integer({ min: 0, max: 30_000_000 }), (e, dt) => {
        const now = e.createdAt + dt;
        const before = entryState(e, now);
        const lowered = { ...e, freshUntil: Math.min(e.freshUntil, now) };
        expect(RANK[entryState(lowered, now)]).toBeGreaterThanOrEqual(RANK[before]);
        // and it stays a fallback exactly while it was one
        expect(entryState(lowered, now) === 'expired').toBe(before === 'expired');
      }),
    );
  });

  it('is due for early refresh once the given share of its fresh life has passed', () => {
    const e: Entry<number> = { value: 1, createdAt: 1_000, freshUntil: 2_000, staleUntil: 2_000 };
    expect(refreshDue(e, 1_799, 0.8)).toBe(false);
    expect(refreshDue(e, 1_800, 0.8)).toBe(true);
    expect(refreshDue(e, 1_999, undefined)).toBe(false);
  });
});

describe('the stored format', () => {
  it('round-trips the times and the payload, with undefined distinct from any text', () => {
    fc.assert(
      fc.property(entryArb, fc.option(fc.string(), { nil: undefined }), (e, payload) => {
        const decoded = decodeEntry(encodeEntry(e, payload));
        expect(decoded).toEqual({
          createdAt: e.createdAt,
          freshUntil: e.freshUntil,
          staleUntil: e.staleUntil,
          payload,
        });
      }),
    );
  });

  it('reads any other text as a reason, never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `bw1|${s}`),
        ),
        (text) => {
          const decoded = decodeEntry(text);
          if (typeof decoded !== 'string') {
            // only a well-formed header gets through
            expect(decoded.createdAt).toBeLessThanOrEqual(decoded.freshUntil);
            expect(decoded.freshUntil).toBeLessThanOrEqual(decoded.staleUntil);
          }
        },
      ),
    );
    expect(decodeEntry('{"id":1}')).toBe('not a cache entry');
    expect(decodeEntry('bw1|1|2')).toBe('truncated header');
    expect(decodeEntry('bw1|3|2|1|v1')).toBe('bad times');
    expect(decodeEntry('bw1|1|2|3|x')).toBe('bad value flag');
    expect(decodeEntry('bw1|1|2|3|uextra')).toBe('bad value flag');
  });
});
