import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Deferred, deferred } from '../../../test/support/promises.js';
import { type CallObserver, InFlightCalls, type ScriptCallbacks } from './in-flight.js';

function recorder() {
  const heard: string[] = [];
  const callbacks: ScriptCallbacks = {
    reply: (r) => heard.push(`reply ${String(r)}`),
    failed: (e, fate) => heard.push(`failed ${e.reason} ${fate}`),
    lateReply: (r) => heard.push(`late ${String(r)}`),
    lateFailed: (e) => heard.push(`lateFailed ${e.reason}`),
  };
  const health: string[] = [];
  const observer: CallObserver = {
    succeeded: () => health.push('ok'),
    failedWith: (e, key) => health.push(`${e.reason} ${key}`),
  };
  const calls = new InFlightCalls(100, observer);
  /** A call in flight for `key` with a deadline 100 ms from now; settle it by hand. */
  const watch = (key = 'k', heardBy: ScriptCallbacks = callbacks) => {
    const call = deferred<unknown>();
    calls.watch(call.promise, key, performance.now() + 100, heardBy);
    return call;
  };
  return { heard, callbacks, health, watch };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('InFlightCalls', () => {
  it('a timeout reaches the caller at its deadline; the late reply still arrives, as such', async () => {
    const r = recorder();
    const call = r.watch();
    await vi.advanceTimersByTimeAsync(99);
    expect(r.heard).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.heard).toEqual(['failed timeout pending']);
    expect(r.health).toEqual(['timeout k']);
    call.resolve('granted');
    await vi.advanceTimersByTimeAsync(0);
    expect(r.heard).toEqual(['failed timeout pending', 'late granted']);
    expect(r.health).toEqual(['timeout k', 'ok']); // Redis answers: the guard may close
  });

  it('a timed-out call that then fails for good is reported once more, as lateFailed', async () => {
    const r = recorder();
    const call = r.watch();
    await vi.advanceTimersByTimeAsync(100);
    call.reject(new Error('Connection is closed.'));
    await vi.advanceTimersByTimeAsync(0);
    expect(r.heard).toEqual(['failed timeout pending', 'lateFailed connection']);
  });

  it('one timer serves every call: each times out at its own deadline, answered ones are left alone', async () => {
    const r = recorder();
    r.watch('a');
    await vi.advanceTimersByTimeAsync(30);
    const b = r.watch('b');
    await vi.advanceTimersByTimeAsync(30);
    r.watch('c');
    b.resolve('b');
    await vi.advanceTimersByTimeAsync(40);
    expect(r.heard).toEqual(['reply b', 'failed timeout pending']);
    await vi.advanceTimersByTimeAsync(60);
    expect(r.heard).toEqual(['reply b', 'failed timeout pending', 'failed timeout pending']);
    expect(r.health).toEqual(['ok', 'timeout a', 'timeout c']);
  });

  it.each<[string, (call: Deferred<unknown>) => void, Partial<ScriptCallbacks>, string[], string[]]>([
    [
      'a reply in time goes to its caller; the store hears a success',
      (call) => call.resolve('1'),
      {},
      ['reply 1'],
      ['ok'],
    ],
    [
      'a reply its caller cannot read fails that call alone; Redis ran it, and the store stays healthy',
      (call) => call.resolve('?'),
      {
        reply: () => {
          throw new Error('unreadable');
        },
      },
      ['failed reply applied'],
      ['ok'],
    ],
    [
      'a reply error (Redis refused the call) ran nothing',
      (call) =>
        call.reject(
          Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), {
            name: 'ReplyError',
          }),
        ),
      {},
      ['failed reply not-applied'],
      ['reply k'],
    ],
  ])('%s', async (_, settle, callbacks, heard, health) => {
    const r = recorder();
    settle(r.watch('k', { ...r.callbacks, ...callbacks }));
    await vi.advanceTimersByTimeAsync(0);
    expect(r.heard).toEqual(heard);
    expect(r.health).toEqual(health);
  });
});
