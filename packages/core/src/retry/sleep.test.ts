import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS } from '../common/timers.js';
import { sleep } from './sleep.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('sleep', () => {
  it('resolves after the delay and leaves no listener behind', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    let done = false;
    const p = sleep(100, controller.signal).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
    expect(remove).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the reason and clears its timer when the signal aborts', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const p = sleep(10_000, controller.signal);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort('why');
    await expect(p).rejects.toBe('why');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once for an aborted signal', async () => {
    await expect(sleep(10, AbortSignal.abort('already'))).rejects.toBe('already');
  });

  it('keeps the process alive while awaited (a ref-ed timer), never longer than a timer can hold', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const controller = new AbortController();
    const p = sleep(Number.MAX_SAFE_INTEGER, controller.signal);
    const timer = spy.mock.results[0]!.value as NodeJS.Timeout;
    expect(spy.mock.calls[0]![1]).toBe(MAX_TIMER_DELAY_MS);
    expect(timer.hasRef()).toBe(true);
    controller.abort();
    await expect(p).rejects.toBeDefined();
  });
});
