/**
 * The checker on hand-made histories: each invariant is shown to pass on a history that keeps it
 * (including its edge cases: spans that only touch, grants that straddle a period boundary,
 * fallback permits, the clock tolerance) and to fail, with a useful message, on one that breaks it.
 */
import { describe, expect, it } from 'vitest';
import { overCapacity } from './check-concurrency.js';
import { fixedWindowExcess, gcraExcess, goInterval } from './check-rate-limits.js';
import { checkHistory } from './checker.js';
import type {
  BreakerPermit,
  FleetTransition,
  History,
  HistoryPolicies,
  PermitSource,
  RateGrant,
  SlotLease,
} from './history.js';

const NO_POLICIES: HistoryPolicies = {
  probeBreakers: [],
  tripBreakers: [],
  ledgerBreakers: [],
  rateLimiters: [],
  bulkheads: [],
};

function history(
  parts: Partial<Omit<History, 'policies'>> & { policies?: Partial<HistoryPolicies> },
): History {
  return {
    seed: 1,
    startedAt: 0,
    toleranceMs: 0,
    tripBoundMs: 0,
    permits: [],
    rateGrants: [],
    leases: [],
    ledger: [],
    buffered: [],
    transitions: [],
    observedStates: [],
    ...parts,
    policies: { ...NO_POLICIES, ...parts.policies },
  };
}

function permit(
  name: string,
  worker: number,
  grantedAt: number,
  endedAt: number | undefined,
  source: PermitSource = 'redis',
): BreakerPermit {
  return { name, worker, source, calledAt: grantedAt - 1, grantedAt, endedAt };
}

function lease(
  worker: number,
  grantedAt: number,
  releasedAt: number,
  source: PermitSource = 'redis',
): SlotLease {
  return { name: 'bh', worker, source, calledAt: grantedAt - 1, grantedAt, releasedAt };
}

function grant(name: string, at: number, permits = 1, waitMs = 0, source: PermitSource = 'redis'): RateGrant {
  return { name, worker: 0, source, calledAt: at, resolvedAt: at, permits, waitMs };
}

const invariants = (h: History) => checkHistory(h).map((v) => v.invariant);

describe('overCapacity', () => {
  it('counts spans that only touch as never running together', () => {
    const spans = [
      { start: 0, end: 10, label: 'a' },
      { start: 10, end: 20, label: 'b' },
    ];
    expect(overCapacity(spans, 1)).toEqual([]);
  });

  it('reports each stretch over capacity once, with the spans at its peak', () => {
    const spans = [
      { start: 0, end: 10, label: 'a' },
      { start: 2, end: 12, label: 'b' },
      { start: 4, end: 6, label: 'c' },
      { start: 5, end: 7, label: 'd' },
      { start: 30, end: 40, label: 'e' },
      { start: 31, end: 41, label: 'f' },
    ];
    const found = overCapacity(spans, 2);
    expect(found).toHaveLength(1);
    expect(found[0].at).toBe(4);
    expect(found[0].peak).toBe(4);
    expect(found[0].running.map((s) => s.label).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(overCapacity(spans, 1).map((x) => x.at)).toEqual([2, 31]);
  });

  it('ignores empty spans (shrunk away by the tolerance)', () => {
    expect(
      overCapacity(
        [
          { start: 5, end: 5, label: 'a' },
          { start: 4, end: 3, label: 'b' },
        ],
        0,
      ),
    ).toEqual([]);
  });
});

describe('half-open probes', () => {
  const policies = { probeBreakers: [{ name: 'p', permitted: 2, leaseMs: 1_000 }] };

  it('holds with at most the permitted number of Redis probes at once', () => {
    const permits = [
      permit('p', 0, 0, 10),
      permit('p', 1, 5, 15),
      permit('p', 2, 10, 20),
      permit('p', 3, 15, 25),
    ];
    expect(checkHistory(history({ policies, permits }))).toEqual([]);
  });

  it('fails with one Redis probe too many, naming the probes', () => {
    const permits = [permit('p', 0, 0, 10), permit('p', 1, 5, 15), permit('p', 2, 8, 20)];
    const violations = checkHistory(history({ policies, permits }));
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ invariant: 'half-open-probes', policy: 'p', at: 8 });
    expect(violations[0].message).toContain('3 Redis-granted probes (permitted 2) at once');
    expect(violations[0].message).toContain('worker 2');
  });

  it('leaves fallback and unattributed permits out', () => {
    for (const source of ['local', 'allow', 'unknown'] as const) {
      const permits = [permit('p', 0, 0, 10), permit('p', 1, 5, 15), permit('p', 2, 8, 20, source)];
      expect(checkHistory(history({ policies, permits }))).toEqual([]);
    }
  });

  it('only counts an overlap that outlasts the clock tolerance', () => {
    const permits = [permit('p', 0, 0, 10), permit('p', 1, 0, 10), permit('p', 2, 9, 20)];
    expect(checkHistory(history({ policies, permits, toleranceMs: 0.5 }))).toEqual([]);
    expect(invariants(history({ policies, permits, toleranceMs: 0.4 }))).toEqual(['half-open-probes']);
  });

  it('counts a probe that never ended until Redis reclaims its lease', () => {
    const stuck = [permit('p', 0, 0, undefined), permit('p', 1, 0, undefined)];
    expect(checkHistory(history({ policies, permits: [...stuck, permit('p', 2, 1_200, 1_300)] }))).toEqual(
      [],
    );
    expect(invariants(history({ policies, permits: [...stuck, permit('p', 2, 900, 1_300)] }))).toEqual([
      'half-open-probes',
    ]);
  });

  it('reports a probe breaker that Redis closed, and does not count its CLOSED permits as probes', () => {
    const transitions: FleetTransition[] = [
      { name: 'p', from: 'HALF_OPEN', to: 'CLOSED', at: 100, until: 0 },
      { name: 'p', from: 'CLOSED', to: 'OPEN', at: 200, until: 300 },
    ];
    const permits = [permit('p', 0, 110, 150), permit('p', 1, 120, 150), permit('p', 2, 130, 150)];
    const violations = checkHistory(history({ policies, permits, transitions }));
    expect(violations.map((v) => v.invariant)).toEqual(['probe-breaker-closed']);
    expect(violations[0].message).toContain('HALF_OPEN -> CLOSED');
  });
});

describe('rate limits', () => {
  const fixed = {
    rateLimiters: [
      { name: 'f', algorithm: 'fixed-window' as const, limitForPeriod: 2, limitRefreshPeriod: 100 },
    ],
  };
  const gcra = {
    rateLimiters: [{ name: 'g', algorithm: 'gcra' as const, limitForPeriod: 2, limitRefreshPeriod: 100 }],
  };

  it('fixed window: holds at the limit in every period', () => {
    const rateGrants = [grant('f', 10), grant('f', 90), grant('f', 100), grant('f', 150), grant('f', 250, 2)];
    expect(checkHistory(history({ policies: fixed, rateGrants }))).toEqual([]);
  });

  it('fixed window: fails one over the limit in a period', () => {
    const rateGrants = [grant('f', 110), grant('f', 120, 2)];
    const violations = checkHistory(history({ policies: fixed, rateGrants }));
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ invariant: 'rate-limit', policy: 'f', at: 100 });
    expect(violations[0].message).toContain('3 Redis-granted permits must go in cycle 1');
  });

  it('fixed window: a grant straddling a boundary may count in either period (Hall over runs of cycles)', () => {
    // unsure between cycles 0 and 1: three of them fit two periods of two, five do not
    const straddling = (worker: number): RateGrant => ({ ...grant('f', 99), worker, resolvedAt: 101 });
    const sure = [grant('f', 10), grant('f', 150)];
    expect(
      checkHistory(history({ policies: fixed, rateGrants: [...sure, straddling(1), straddling(2)] })),
    ).toEqual([]);
    const violations = checkHistory(
      history({ policies: fixed, rateGrants: [...sure, straddling(1), straddling(2), straddling(3)] }),
    );
    expect(violations).toHaveLength(1);
    expect(violations[0].message).toContain('5 Redis-granted permits must go in cycles 0..1');
  });

  it('fixed window: a reservation counts in the period it waits for', () => {
    // asked at 20, granted a wait of 80: goes at 100, in cycle 1 with the two immediate grants there
    const reserved = grant('f', 20, 1, 80);
    expect(goInterval(reserved, 0.5, 'fixed-window')).toMatchObject({ lo: 99.5, hi: 100.5 });
    expect(
      checkHistory(history({ policies: fixed, rateGrants: [grant('f', 10), grant('f', 20), reserved] })),
    ).toEqual([]);
    expect(
      invariants(history({ policies: fixed, rateGrants: [reserved, grant('f', 120), grant('f', 130)] })),
    ).toEqual(['rate-limit']);
  });

  it('fixed window: refusals and fallback grants do not count', () => {
    const rateGrants = [
      grant('f', 10),
      grant('f', 20),
      grant('f', 30, 1, -70),
      grant('f', 40, 1, 0, 'local'),
      grant('f', 50, 1, 0, 'unknown'),
    ];
    expect(checkHistory(history({ policies: fixed, rateGrants }))).toEqual([]);
  });

  it('fixed window: Hall runs report the narrowest run and each overload once', () => {
    const items = [10, 20, 30, 510, 520, 530].map((t) => goInterval(grant('f', t), 0, 'fixed-window'));
    expect(fixedWindowExcess(items, 2, 100).map((x) => [x.first, x.last, x.permits])).toEqual([
      [0, 0, 3],
      [5, 5, 3],
    ]);
  });

  it('GCRA: holds with the limit in every window of one period', () => {
    const rateGrants = [grant('g', 0), grant('g', 50), grant('g', 100), grant('g', 150), grant('g', 250, 2)];
    expect(checkHistory(history({ policies: gcra, rateGrants }))).toEqual([]);
  });

  it('GCRA: fails with one permit too many within one period, wherever the window starts', () => {
    const rateGrants = [grant('g', 30), grant('g', 60), grant('g', 129)];
    const violations = checkHistory(history({ policies: gcra, rateGrants }));
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ invariant: 'rate-limit', policy: 'g', at: 30 });
    expect(violations[0].message).toContain('3 Redis-granted permits went within 100 ms');
  });

  it('GCRA: a grant whose go instant is uncertain only counts where it surely went', () => {
    const items = [grant('g', 0), grant('g', 50), { ...grant('g', 90), resolvedAt: 110 }].map((g) =>
      goInterval(g, 0, 'gcra'),
    );
    expect(gcraExcess(items, 2, 100)).toEqual([]);
    expect(gcraExcess([...items, goInterval(grant('g', 60), 0, 'gcra')], 2, 100)).toHaveLength(1);
  });
});

describe('bulkhead concurrency', () => {
  const policies = { bulkheads: [{ name: 'bh', maxConcurrentCalls: 2 }] };

  it('holds with at most maxConcurrentCalls Redis slots held at once', () => {
    const leases = [lease(0, 0, 10), lease(1, 5, 15), lease(2, 10, 20), lease(3, 12, 30, 'local')];
    expect(checkHistory(history({ policies, leases }))).toEqual([]);
  });

  it('fails with one slot too many', () => {
    const leases = [lease(0, 0, 10), lease(1, 5, 15), lease(2, 9, 20)];
    const violations = checkHistory(history({ policies, leases }));
    expect(violations).toHaveLength(1);
    expect(violations[0].message).toContain('3 Redis-granted slots (maxConcurrentCalls 2) at once');
  });

  it('counts a slot never released as held to the end', () => {
    const leases: SlotLease[] = [
      { ...lease(0, 0, 0), releasedAt: undefined },
      { ...lease(1, 5, 0), releasedAt: undefined },
      lease(2, 1_000, 1_010),
    ];
    expect(invariants(history({ policies, leases }))).toEqual(['bulkhead-concurrency']);
  });
});

describe('outcomes accounted', () => {
  const policies = { ledgerBreakers: [{ name: 'l' }] };
  const ledger = [
    { name: 'l', worker: 0, observed: 6, dropped: 0 },
    { name: 'l', worker: 1, observed: 4, dropped: 2 },
  ];

  it('holds when the window holds what was seen, less at most what was reported dropped', () => {
    for (const buffered of [8, 9, 10]) {
      expect(checkHistory(history({ policies, ledger, buffered: [{ name: 'l', buffered }] }))).toEqual([]);
    }
  });

  it('fails when outcomes are lost without a count', () => {
    const violations = checkHistory(history({ policies, ledger, buffered: [{ name: 'l', buffered: 7 }] }));
    expect(violations).toHaveLength(1);
    expect(violations[0].message).toBe(
      'callers saw 10 outcomes, the shared window holds 7 and 2 were reported dropped: 1 lost without a count ' +
        '(worker 0: 6 seen, 0 dropped; worker 1: 4 seen, 2 dropped)',
    );
  });

  it('fails when outcomes are counted twice', () => {
    const violations = checkHistory(history({ policies, ledger, buffered: [{ name: 'l', buffered: 11 }] }));
    expect(violations.map((v) => v.message)).toEqual([expect.stringContaining('1 counted twice')]);
  });

  it('fails when the window was never read', () => {
    expect(invariants(history({ policies, ledger }))).toEqual(['outcomes-accounted']);
  });
});

describe('trip seen', () => {
  const policies = { tripBreakers: [{ name: 't' }] };
  const transitions: FleetTransition[] = [
    { name: 't', from: 'CLOSED', to: 'OPEN', at: 1_000, until: 2_000 },
    // heard by a second worker: the same transition
    { name: 't', from: 'CLOSED', to: 'OPEN', at: 1_000, until: 2_000 },
  ];
  const base = { policies, transitions, toleranceMs: 0.5, tripBoundMs: 5 };

  it('holds when Redis refuses every call that starts after the bound until the wait ends', () => {
    const permits = [
      permit('t', 0, 999, 1_050), // granted before the trip
      { ...permit('t', 1, 1_004, 1_010), calledAt: 1_003 }, // started within the bound
      { ...permit('t', 2, 1_500, 1_600), source: 'local' as const }, // decided in-process
      { ...permit('t', 3, 2_000, 2_100), calledAt: 1_999.8 }, // may have been granted after the wait
    ];
    expect(checkHistory(history({ ...base, permits }))).toEqual([]);
  });

  it('fails, once per call, when Redis grants a call that started after the bound', () => {
    const violations = checkHistory(history({ ...base, permits: [permit('t', 2, 1_011, 1_020)] }));
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ invariant: 'trip-seen', policy: 't', at: 1_010 });
    expect(violations[0].message).toBe(
      "worker 2's call at +1.010s started 10.0 ms after the trip at +1.000s (bound 5 ms) and Redis granted it " +
        'by +1.011s, before the open wait ended at +2.000s',
    );
  });
});

it('an empty history keeps every invariant', () => {
  expect(checkHistory(history({}))).toEqual([]);
});
