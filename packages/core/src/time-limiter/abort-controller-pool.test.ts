import { describe, expect, it } from 'vitest';
import {
  pooledAbortControllers,
  returnAbortController,
  takeAbortController,
} from './abort-controller-pool.js';

/** Empties the pool so each test starts from a known size. */
function drain(): void {
  while (pooledAbortControllers() > 0) takeAbortController();
}

describe('abort controller pool', () => {
  it('hands back a returned controller that nobody observes', () => {
    drain();
    const c = takeAbortController();
    returnAbortController(c);
    expect(pooledAbortControllers()).toBe(1);
    expect(takeAbortController()).toBe(c);
  });

  it('drops aborted, listened-to and followed controllers', () => {
    drain();
    const aborted = takeAbortController();
    aborted.abort();
    const listened = takeAbortController();
    listened.signal.addEventListener('abort', () => {});
    const followed = takeAbortController();
    AbortSignal.any([followed.signal]);
    for (const c of [aborted, listened, followed]) returnAbortController(c);
    expect(pooledAbortControllers()).toBe(0);
  });

  it('pools a controller whose listeners were all removed', () => {
    drain();
    const c = takeAbortController();
    const listener = () => {};
    c.signal.addEventListener('abort', listener);
    c.signal.removeEventListener('abort', listener);
    returnAbortController(c);
    expect(pooledAbortControllers()).toBe(1);
  });

  it('keeps at most 256 controllers', () => {
    drain();
    for (let i = 0; i < 300; i++) returnAbortController(new AbortController());
    expect(pooledAbortControllers()).toBe(256);
    drain();
  });
});
