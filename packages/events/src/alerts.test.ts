import {
  type BreakerStateTransitionEvent,
  type CircuitBreakerEvent,
  type CircuitBreakerStateName,
  ConfigError,
} from '@breakwater/core';
import { asyncScheduler, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { circuitOpenAlert } from '../../../test/support/alert-fixtures.js';
import {
  ALERTS_DEFAULTS,
  type Alert,
  type AlertsOptions,
  alerts,
  type SuppressedAlert,
  toAlert,
} from './alerts.js';
import type { EventShape, FleetStateTransitionEvent } from './types.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const transition = (
  name: string,
  to: CircuitBreakerStateName,
  from: CircuitBreakerStateName = 'CLOSED',
): BreakerStateTransitionEvent => ({
  kind: 'circuitbreaker',
  type: 'STATE_TRANSITION',
  name,
  at: 1_700_000_000_000,
  from,
  to,
  reason: to === 'OPEN' ? 'FAILURE_RATE' : 'MANUAL',
  failureRate: 60,
  slowCallRate: 0,
});

interface StoreFailure extends EventShape {
  readonly kind: 'store';
  readonly type: 'STORE_FAILURE';
  readonly error: unknown;
  readonly policy: 'local';
  readonly origin: string;
}
const storeFailure = (name: string): StoreFailure => ({
  kind: 'store',
  type: 'STORE_FAILURE',
  name,
  at: 1_700_000_000_000,
  error: new Error('connect ECONNREFUSED'),
  policy: 'local',
  origin: 'host:1',
});

type Ev = CircuitBreakerEvent | StoreFailure;

/** Opens of breakers a..h, and a few events that never alert. */
const ev: Record<string, Ev> = {
  a: transition('a', 'OPEN'),
  b: transition('b', 'OPEN'),
  c: transition('c', 'OPEN'),
  d: transition('d', 'OPEN'),
  e: transition('e', 'OPEN'),
  f: transition('f', 'OPEN'),
  g: transition('g', 'OPEN'),
  h: transition('h', 'OPEN'),
  F: transition('a', 'FORCED_OPEN'),
  X: storeFailure('breakwater'),
  Y: transition('breakwater', 'OPEN'),
  // no alert:
  H: transition('a', 'HALF_OPEN', 'OPEN'),
  C: transition('a', 'CLOSED', 'HALF_OPEN'),
  D: transition('a', 'DISABLED'),
  s: { kind: 'circuitbreaker', type: 'SUCCESS', name: 'a', at: 0, durationMs: 3 },
  n: { kind: 'circuitbreaker', type: 'NOT_PERMITTED', name: 'a', at: 0, state: 'OPEN' },
};

const alertOf = (e: Ev): Alert => toAlert(e) as Alert;
/** Alert values for expectations: the same letters as the events. */
const al: Record<string, Alert> = Object.fromEntries(
  Object.entries(ev).flatMap(([k, e]) => (toAlert(e) ? [[k, alertOf(e)]] : [])),
);
const summary = (at: number, since: number, count: number, keys: string[]): SuppressedAlert => ({
  kind: 'alert',
  type: 'SUPPRESSED',
  at,
  since,
  count,
  keys,
  keysTruncated: false,
  message: expect.stringContaining(`${count} alert`) as unknown as string,
});

describe('toAlert', () => {
  it('raises alerts for transitions into OPEN and FORCED_OPEN and for store failures only', () => {
    expect(toAlert(ev.a)).toEqual(circuitOpenAlert('a'));
    expect(toAlert(ev.F)).toMatchObject({ type: 'CIRCUIT_OPEN', to: 'FORCED_OPEN', key: 'a' });
    expect(toAlert(transition('a', 'OPEN', 'HALF_OPEN'))).toMatchObject({
      type: 'CIRCUIT_OPEN',
      from: 'HALF_OPEN',
    });
    expect(toAlert(ev.X)).toEqual({
      kind: 'alert',
      type: 'STORE_FAILURE',
      key: 'store:breakwater',
      name: 'breakwater',
      at: 1_700_000_000_000,
      error: (ev.X as StoreFailure).error,
      policy: 'local',
      origin: 'host:1',
      message: "Store breakwater: failing (connect ECONNREFUSED), failure policy 'local' on host:1",
    });
    for (const k of ['H', 'C', 'D', 's', 'n']) expect(toAlert(ev[k])).toBeUndefined();
    // a FORCED_OPEN event (published with its STATE_TRANSITION) does not alert twice
    expect(toAlert({ kind: 'circuitbreaker', type: 'FORCED_OPEN', name: 'a', at: 0 })).toBeUndefined();
  });

  it('names the origin of fleet-wide transitions', () => {
    const fleet: FleetStateTransitionEvent = { ...transition('a', 'OPEN'), origin: 'api-7:4242', until: 0 };
    expect(toAlert(fleet)).toMatchObject({
      origin: 'api-7:4242',
      message: 'Circuit a: CLOSED -> OPEN (failure rate 60%) on api-7:4242',
    });
  });
});

/**
 * `alerts(options)` on the cold marbles `source` (the events of `ev`) emits `expected`: the alerts
 * of `al`, and the summaries given by letter.
 */
function expectAlerts(
  source: string,
  options: AlertsOptions | undefined,
  expected: string,
  summaries: Record<string, SuppressedAlert> = {},
): void {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold(source, ev).pipe(alerts(options))).toBe(expected, { ...al, ...summaries });
  });
}

describe('alerts()', () => {
  it('lets other events pass by without alerting', () => {
    expectAlerts('s-n-H-C-D-|', { cooldownMs: 10 }, '----------|');
  });

  it('alerts on OPEN, FORCED_OPEN and store failures', () => {
    expectAlerts('a-s-X-|', { cooldownMs: 10 }, 'a---X-|');
    // a store and a breaker of the same name do not share a key
    expectAlerts('XY|', { cooldownMs: 10 }, 'XY|');
  });

  it('one alert per key per cooldown: a repeat inside it is held back, one at exactly cooldownMs alerts', () => {
    // a at 0 alerts; a at 5 and 9 are held; the window closes at 10 with a summary, and a at 10 alerts
    expectAlerts('a 4ms a 3ms a a 9ms |', { cooldownMs: 10, maxKeys: 6 }, 'a 9ms (Sa) 6ms |', {
      S: summary(10, 0, 2, ['a']),
    });
  });

  it('FORCED_OPEN shares the cooldown of its breaker', () => {
    expectAlerts('aF|', { cooldownMs: 10 }, 'a-(S|)', { S: summary(2, 0, 1, ['a']) });
  });

  it('at most maxKeys distinct keys per window: the key after the last is held back, and counted', () => {
    // maxKeys 2: a and b alert; c (a new key), a (cooling down) and d are held back
    expectAlerts('abcad 7ms c 9ms |', { cooldownMs: 10, maxKeys: 2 }, 'ab 8ms S 1ms c 9ms |', {
      S: summary(10, 0, 3, ['c', 'a', 'd']),
    });
  });

  it('a new window starts with the first alert-worthy event after the last one closed', () => {
    // window 1: [0, 10): a, b alert, c is held; window 2 opens at 15 (not at 10): d and e alert,
    // f is held, and it closes at 25
    expectAlerts('abc 12ms def 12ms |', { cooldownMs: 10, maxKeys: 2 }, 'ab 8ms S 4ms de 8ms T 4ms |', {
      S: summary(10, 0, 1, ['c']),
      T: summary(25, 15, 1, ['f']),
    });
  });

  it('a held-back repeat can open a window of its own', () => {
    // a alerts at 8 in window [0, 10) opened by b; at 12 a is still cooling down (until 18):
    // it opens window [12, 22) and is summarised at 22
    expectAlerts('b 7ms a 3ms a 19ms |', { cooldownMs: 10, maxKeys: 6 }, 'b 7ms a 13ms S 9ms |', {
      S: summary(22, 12, 1, ['a']),
    });
  });

  it('no summary for a window that held nothing back', () => {
    expectAlerts('a 20ms b 20ms |', { cooldownMs: 10 }, 'a 20ms b 20ms |');
  });

  it('summarises at once when the source completes or errors', () => {
    expectAlerts('aa-|', { cooldownMs: 10 }, 'a--(S|)', { S: summary(3, 0, 1, ['a']) });
    expectAlerts('aa-#', { cooldownMs: 10 }, 'a--(S#)', { S: summary(3, 0, 1, ['a']) });
  });

  it('unsubscribing cancels the window: no late summary, source unsubscribed', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('aa 20ms |', ev);
      expectObservable(source.pipe(alerts({ cooldownMs: 10 })), '^ 4ms !').toBe('a', al);
      expectSubscriptions(source.subscriptions).toBe('^ 4ms !');
    });
  });

  it('cooldownMs 0 turns throttling off', () => {
    expectAlerts('aaabcdefgh|', { cooldownMs: 0, maxKeys: 1 }, 'aaabcdefgh|');
  });

  it('defaults: 10 minute cooldown, 6 keys', () => {
    expect(ALERTS_DEFAULTS).toEqual({ cooldownMs: 600_000, maxKeys: 6 });
    expectAlerts('abcdefgh 1m a 9m 20m |', undefined, 'abcdef 599994ms S 1200008ms |', {
      S: summary(600_000, 0, 3, ['g', 'h', 'a']),
    });
  });

  it('lists at most 50 held-back keys, and counts all', () => {
    const names = Array.from({ length: 60 }, (_, i) => `k${i}`);
    const out: Alert[] = [];
    const subject = new Subject<Ev>();
    const sub = subject.pipe(alerts({ cooldownMs: 10_000, maxKeys: 1 })).subscribe((a) => out.push(a));
    for (const name of names) subject.next(transition(name, 'OPEN'));
    subject.next(transition('k59', 'OPEN'));
    subject.complete();
    sub.unsubscribe();
    expect(out).toHaveLength(2);
    const s = out[1] as SuppressedAlert;
    expect(s).toMatchObject({ type: 'SUPPRESSED', count: 60, keysTruncated: true });
    expect(s.keys).toEqual(names.slice(1, 51));
    expect(s.message).toMatch(/^60 alerts suppressed since .* \(k1, k2, .*, k50, \.\.\.\)$/);
  });

  it('validates its options', () => {
    expect(() => alerts({ cooldownMs: -1 })).toThrow(ConfigError);
    expect(() => alerts({ maxKeys: 0 })).toThrow(ConfigError);
    expect(() => alerts({ maxKeys: 1.5 })).toThrow(/maxKeys/);
    expect(() => alerts({ scheduler: {} as never })).toThrow(/scheduler/);
    expect(() => alerts({ cooldown: 5 } as never)).toThrow(/'cooldown' is not an option/);
  });

  describe('with the real async scheduler', () => {
    afterEach(() => vi.useRealTimers());

    it("never keeps the process alive: the window's timer is unref'd", () => {
      const subject = new Subject<Ev>();
      const before = new Set(process.getActiveResourcesInfo());
      const sub = subject.pipe(alerts({ cooldownMs: 60_000, scheduler: asyncScheduler })).subscribe();
      subject.next(ev.a);
      // an unref'd timer is not listed among the resources that keep the loop alive
      const timeouts = (list: string[]) => list.filter((r) => r === 'Timeout').length;
      expect(timeouts(process.getActiveResourcesInfo())).toBe(timeouts([...before]));
      sub.unsubscribe();
    });

    it('the summary comes when the window closes', () => {
      vi.useFakeTimers({ now: 0 });
      const out: Alert[] = [];
      const subject = new Subject<Ev>();
      const sub = subject.pipe(alerts({ cooldownMs: 1_000, maxKeys: 1 })).subscribe((a) => out.push(a));
      subject.next(ev.a);
      vi.advanceTimersByTime(100);
      subject.next(ev.b);
      expect(out.map((a) => a.type)).toEqual(['CIRCUIT_OPEN']);
      vi.advanceTimersByTime(900);
      expect(out.map((a) => a.type)).toEqual(['CIRCUIT_OPEN', 'SUPPRESSED']);
      expect(out[1]).toMatchObject({ since: 0, at: 1_000, count: 1, keys: ['b'] });
      sub.unsubscribe();
    });
  });
});

describe('cache alerts', () => {
  /** A cache event as @breakwater/cache publishes it (matched by shape: no dependency on it). */
  const cacheEvent = (type: string, key: string, extra: Record<string, unknown> = {}): EventShape =>
    ({ kind: 'cache', type, name: 'users', at: 1_700_000_000_000, key, ...extra }) as EventShape;
  const timeout = new Error('Redis did not answer within 50 ms');

  it('L2_ERROR, LOADER_ERROR and WRITE_BACK_FAILED raise one, keyed by cache and entry; hits and misses do not', () => {
    expect(toAlert(cacheEvent('L2_ERROR', 'user:1', { errorType: 'timeout', error: timeout }))).toEqual({
      kind: 'alert',
      type: 'CACHE_ERROR',
      key: 'cache:users:user:1',
      name: 'users',
      cacheKey: 'user:1',
      event: 'L2_ERROR',
      at: 1_700_000_000_000,
      error: timeout,
      message: 'Cache users: Redis failed for user:1 (timeout: Redis did not answer within 50 ms)',
    });
    expect(toAlert(cacheEvent('LOADER_ERROR', 'user:2', { error: new Error('db down') }))).toMatchObject({
      key: 'cache:users:user:2',
      message: 'Cache users: loader failed for user:2 (db down)',
    });
    expect(
      toAlert(cacheEvent('WRITE_BACK_FAILED', 'user:3', { errorType: 'connection', error: timeout })),
    ).toMatchObject({
      event: 'WRITE_BACK_FAILED',
      message: expect.stringMatching(/^Cache users: write-back/),
    });
    for (const type of ['HIT', 'MISS', 'LOADED', 'STALE_SERVED', 'ENTRY_UNREADABLE']) {
      expect(toAlert(cacheEvent(type, 'user:1'))).toBeUndefined();
    }
  });

  it('one per entry per cooldown, at most maxKeys entries per window, the rest summarised', () => {
    const e = Object.fromEntries(
      ['1', '2', '3'].map((id) => [id, cacheEvent('L2_ERROR', `user:${id}`, { error: timeout })]),
    );
    const expected = Object.fromEntries(Object.entries(e).map(([k, v]) => [k, toAlert(v) as Alert]));
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('1121 3ms 3 5ms |', e);
      expectObservable(source.pipe(alerts({ cooldownMs: 10, maxKeys: 2 }))).toBe('1-2 7ms S 2ms |', {
        ...expected,
        S: summary(10, 0, 3, ['cache:users:user:1', 'cache:users:user:3']),
      });
    });
  });
});
