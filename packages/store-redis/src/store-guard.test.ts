import { EventPublisher } from '@breakwater/core/engine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveRedisStoreOptions } from './redis-store-options.js';
import { StoreUnavailableError } from './store-errors.js';
import type { FleetStoreFailureMessage, StoreEvent } from './store-events.js';
import { StoreGuard } from './store-guard.js';

function guardWith(failureThreshold: number, waitDurationMs: number) {
  let now = 1_000_000;
  const settings = resolveRedisStoreOptions(
    { client: { duplicate() {} }, guard: { failureThreshold, waitDurationMs }, processId: 'p' },
    'p',
  );
  const events = new EventPublisher<StoreEvent>();
  const seen: string[] = [];
  events.onEvent((e) => seen.push(e.type));
  let opened = 0;
  const published: FleetStoreFailureMessage[] = [];
  const guard = new StoreGuard(
    settings,
    events,
    { opened: () => opened++, publish: (m) => published.push(m) },
    () => now,
  );
  const timeout = new StoreUnavailableError('Redis did not answer within 100 ms', 'timeout');
  return {
    guard,
    seen,
    published,
    opened: () => opened,
    advance: (ms: number) => {
      now += ms;
    },
    fail: () => guard.failed(timeout),
    /** A call issued now, answered in time. */
    ok: () => guard.succeeded(performance.now(), false),
    /** `times` failures, each followed by a success, `gapMs` apart. */
    failEachThenOk(times: number, gapMs: number) {
      for (let i = 0; i < times; i++) {
        this.fail();
        this.ok();
        this.advance(gapMs);
      }
    },
  };
}

describe('StoreGuard', () => {
  it('opens after failureThreshold failures in a row, however far apart', () => {
    const g = guardWith(3, 1_000);
    g.fail();
    g.advance(5_000);
    g.fail();
    g.advance(5_000);
    expect(g.guard.isOpen).toBe(false);
    g.fail();
    expect(g.guard.isOpen).toBe(true);
    expect(g.seen).toEqual(['STORE_FAILURE']);
    expect(g.opened()).toBe(1);
  });

  it('opens after failureThreshold failures within waitDurationMs, successes between them or not (OOM: reads pass, writes fail)', () => {
    const g = guardWith(3, 1_000);
    g.failEachThenOk(2, 100);
    expect(g.guard.isOpen).toBe(false);
    g.fail();
    expect(g.guard.isOpen).toBe(true);
  });

  it('does not open on failures spread wider than waitDurationMs with successes between them', () => {
    const g = guardWith(3, 1_000);
    g.failEachThenOk(10, 600);
    expect(g.guard.isOpen).toBe(false);
    expect(g.seen).toEqual([]);
  });

  it('closes on the first success, with one STORE_RECOVERED and the outage published for the fleet', () => {
    const g = guardWith(1, 1_000);
    g.fail();
    g.advance(250);
    g.fail(); // while open: neither counted nor reported again
    g.ok();
    expect(g.guard.isOpen).toBe(false);
    expect(g.seen).toEqual(['STORE_FAILURE', 'STORE_RECOVERED']);
    expect(g.published).toEqual([
      expect.objectContaining({ origin: 'p', at: 1_000_000, recoveredAt: 1_000_250, policy: 'local' }),
    ]);
  });

  it('is not closed by a call issued before it opened and answered in time (OOM: reads pass); a late answer closes it', () => {
    const g = guardWith(1, 1_000);
    const issuedBefore = performance.now() - 1;
    g.fail();
    g.guard.succeeded(issuedBefore, false);
    expect(g.guard.isOpen).toBe(true);
    g.guard.succeeded(issuedBefore, true); // Redis was stalled, and answers again
    expect(g.guard.isOpen).toBe(false);
    expect(g.seen).toEqual(['STORE_FAILURE', 'STORE_RECOVERED']);
  });

  it('calls each recovery waiter once, on the next success', () => {
    const g = guardWith(3, 1_000);
    let calls = 0;
    g.guard.onNextSuccess(() => calls++);
    g.fail();
    expect(calls).toBe(0);
    g.ok();
    g.ok();
    expect(calls).toBe(1);
  });

  it('property: outage events alternate, start with STORE_FAILURE, and match the guard (one pair per open period)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.array(fc.record({ ok: fc.boolean(), gap: fc.integer({ min: 0, max: 1_500 }) }), { maxLength: 80 }),
        (threshold, wait, calls) => {
          const g = guardWith(threshold, wait);
          let opens = 0;
          for (const call of calls) {
            g.advance(call.gap);
            const wasOpen = g.guard.isOpen;
            if (call.ok) g.ok();
            else g.fail();
            if (!wasOpen && g.guard.isOpen) opens++;
            const last = g.seen.at(-1);
            expect(g.guard.isOpen).toBe(last === 'STORE_FAILURE');
          }
          g.seen.forEach((type, i) => {
            expect(type).toBe(i % 2 === 0 ? 'STORE_FAILURE' : 'STORE_RECOVERED');
          });
          expect(g.seen.filter((t) => t === 'STORE_FAILURE')).toHaveLength(opens);
          expect(g.opened()).toBe(opens);
        },
      ),
    );
  });
});
