import type {
  BreakerStateTransitionEvent,
  CircuitBreakerEvent,
  CircuitBreakerStateName,
  RetryEvent,
} from '@breakwater/core';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ofKind, ofType, transitions } from './operators.js';
import type { FleetStateTransitionEvent } from './types.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const transition = (name: string, from: CircuitBreakerStateName, to: CircuitBreakerStateName) =>
  ({
    kind: 'circuitbreaker',
    type: 'STATE_TRANSITION',
    name,
    at: 0,
    from,
    to,
    reason: 'MANUAL',
    failureRate: -1,
    slowCallRate: -1,
  }) satisfies BreakerStateTransitionEvent;

const events = {
  s: { kind: 'circuitbreaker', type: 'SUCCESS', name: 'a', at: 0, durationMs: 1 },
  e: { kind: 'circuitbreaker', type: 'ERROR', name: 'a', at: 0, durationMs: 1, error: new Error('x') },
  o: transition('a', 'CLOSED', 'OPEN'),
  h: transition('a', 'OPEN', 'HALF_OPEN'),
  r: { kind: 'retry', type: 'RETRY', name: 'r', at: 0, attempt: 1, waitMs: 10, reason: 'error' },
  t: { kind: 'retry', type: 'SUCCESS', name: 'r', at: 0, attempts: 2 },
} satisfies Record<string, CircuitBreakerEvent | RetryEvent>;

type Mixed = CircuitBreakerEvent | RetryEvent;

describe('ofKind', () => {
  it('keeps the events of the given kinds, in order, and passes completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold<Mixed>('s-r-o-t-|', events);
      expectObservable(source.pipe(ofKind('retry'))).toBe('--r---t-|', events);
      expectObservable(source.pipe(ofKind('circuitbreaker'))).toBe('s---o---|', events);
      expectObservable(source.pipe(ofKind('retry', 'circuitbreaker'))).toBe('s-r-o-t-|', events);
    });
  });

  it('passes errors through', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Mixed>('s-r-#', events).pipe(ofKind('retry'))).toBe('--r-#', events);
    });
  });
});

describe('ofType', () => {
  it('keeps the events of the given types, across kinds', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold<Mixed>('s-e-r-t-o|', events);
      expectObservable(source.pipe(ofType('SUCCESS'))).toBe('s-----t--|', events);
      expectObservable(source.pipe(ofType('ERROR', 'RETRY'))).toBe('--e-r----|', events);
    });
  });

  it('narrows the type', () => {
    const narrowed: string[] = [];
    scheduler().run(({ cold, flush }) => {
      cold<Mixed>('s-e-r', events)
        .pipe(ofKind('circuitbreaker'), ofType('ERROR'))
        // `durationMs` and `error` exist only on the narrowed type
        .subscribe((e) => narrowed.push(`${e.durationMs} ${String(e.error)}`));
      flush();
    });
    expect(narrowed).toEqual(['1 Error: x']);
  });
});

describe('transitions', () => {
  it('keeps the state transitions only', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Mixed>('s-o-e-h-t|', events).pipe(transitions())).toBe('--o---h--|', events);
    });
  });

  it('keeps fleet-wide transitions with their origin', () => {
    const fleet: FleetStateTransitionEvent = { ...transition('a', 'CLOSED', 'OPEN'), origin: 'p1', until: 5 };
    const origins: string[] = [];
    scheduler().run(({ cold, flush }) => {
      cold('f', { f: fleet as FleetStateTransitionEvent | RetryEvent })
        .pipe(transitions())
        .subscribe((e) => origins.push(`${e.origin} ${e.from}->${e.to}`));
      flush();
    });
    expect(origins).toEqual(['p1 CLOSED->OPEN']);
  });

  it('unsubscribes from its source with its subscriber', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot<Mixed>('-o-h-o-h-', events);
      expectObservable(source.pipe(transitions()), '^--!').toBe('-o-', events);
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});
