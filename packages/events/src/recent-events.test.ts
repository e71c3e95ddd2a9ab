import { CircuitBreaker } from '@breakwater/core';
import type { EventPublisher } from '@breakwater/core/engine';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { RECENT_EVENTS_DEFAULT_CAPACITY, recentEvents } from './recent-events.js';

describe('recentEvents', () => {
  it('keeps the latest `capacity` events, oldest first', () => {
    const subject = new Subject<number>();
    const recent = recentEvents(subject, 3);
    expect(recent.snapshot()).toEqual([]);
    subject.next(1);
    subject.next(2);
    expect(recent.snapshot()).toEqual([1, 2]);
    subject.next(3);
    subject.next(4);
    subject.next(5);
    expect(recent.snapshot()).toEqual([3, 4, 5]);
    expect(recent).toMatchObject({ size: 3, total: 5, capacity: 3, listening: true });
    for (let i = 6; i <= 1_000; i++) subject.next(i);
    expect(recent.snapshot()).toEqual([998, 999, 1_000]);
  });

  it('snapshot() is a copy', () => {
    const subject = new Subject<number>();
    const recent = recentEvents(subject, 2);
    subject.next(1);
    const snap = recent.snapshot();
    snap.push(99);
    expect(recent.snapshot()).toEqual([1]);
  });

  it('capacity 1, clear()', () => {
    const subject = new Subject<string>();
    const recent = recentEvents(subject, 1);
    subject.next('a');
    subject.next('b');
    expect(recent.snapshot()).toEqual(['b']);
    recent.clear();
    expect(recent).toMatchObject({ size: 0, total: 0 });
    subject.next('c');
    expect(recent.snapshot()).toEqual(['c']);
  });

  it('listens to a policy directly, and close() removes its listener', async () => {
    const cb = CircuitBreaker.ofDefaults('diag');
    const publisher = (cb as unknown as { publisher: EventPublisher<{ type: string }> }).publisher;
    const recent = recentEvents(cb, 2);
    expect(recent.capacity).toBe(2);
    expect(publisher.listenerCount).toBe(1);
    await cb.execute(() => 1);
    await cb
      .execute(() => {
        throw new Error('x');
      })
      .catch(() => {});
    await cb.transitionToOpenState();
    expect(recent.snapshot().map((e) => e.type)).toEqual(['ERROR', 'STATE_TRANSITION']);
    recent.close();
    expect(publisher.listenerCount).toBe(0);
    expect(recent.listening).toBe(false);
    await cb.transitionToClosedState();
    expect(recent.snapshot().map((e) => e.type)).toEqual(['ERROR', 'STATE_TRANSITION']);
  });

  it('stops listening when the source ends', () => {
    const subject = new Subject<number>();
    const recent = recentEvents(subject);
    expect(recent.capacity).toBe(RECENT_EVENTS_DEFAULT_CAPACITY);
    subject.next(1);
    subject.complete();
    expect(recent.listening).toBe(false);
    expect(recent.snapshot()).toEqual([1]);
  });

  it('validates the capacity', () => {
    const subject = new Subject<number>();
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => recentEvents(subject, bad)).toThrow(RangeError);
    }
    expect(subject.observed).toBe(false);
  });
});
