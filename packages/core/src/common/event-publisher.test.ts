import { describe, expect, it } from 'vitest';
import { EventPublisher } from './event-publisher.js';

type Event = { readonly type: 'A' } | { readonly type: 'B' };

describe('EventPublisher.listensTo', () => {
  it('is true for a type someone listens to, by type or to every event, and false once they leave', () => {
    const publisher = new EventPublisher<Event>();
    expect(publisher.listensTo('A')).toBe(false);
    const offA = publisher.on('A', () => {});
    expect([publisher.listensTo('A'), publisher.listensTo('B')]).toEqual([true, false]);
    const offAll = publisher.onEvent(() => {});
    expect([publisher.listensTo('A'), publisher.listensTo('B')]).toEqual([true, true]);
    offAll();
    offA();
    expect([publisher.listensTo('A'), publisher.listensTo('B')]).toEqual([false, false]);
  });
});
