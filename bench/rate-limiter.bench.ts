/**
 * The rate limiter in-process: the cost of one permitted call through our `RateLimiter` (fixed
 * window and GCRA), against rate-limiter-flexible's in-memory limiter (`consume`, then the call)
 * and bottleneck's scheduler (`schedule`), each configured so that nothing ever waits or is refused.
 * Figures for the record (no target); the fleet-wide limiter is measured in the redis suite.
 */
import { RateLimiter } from '@breakwater/core';
import Bottleneck from 'bottleneck';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { defineSuite, type Invoke, overBare, overheadRatio, premise } from './harness.js';

const VALUE = { ok: true };
const succeed = async () => VALUE;

const HUGE = 1_000_000_000;
const ours: RateLimiter[] = [];
const bottlenecks: Bottleneck[] = [];

function ourLimiter(algorithm: 'fixed-window' | 'gcra'): Invoke {
  const rl = RateLimiter.of(`bench-rl-${algorithm}`, {
    algorithm,
    limitForPeriod: HUGE,
    limitRefreshPeriod: 1_000,
    timeoutDuration: 0,
  });
  ours.push(rl);
  return () => rl.execute(succeed);
}

export default defineSuite({
  description: 'rate limiter, in-process, a permitted call: ours vs rate-limiter-flexible and bottleneck',
  cases: [
    { id: 'bare', label: 'bare await fn()', setup: () => succeed },
    overBare('ours-fixed', 'ours fixed window', () => ourLimiter('fixed-window')),
    overBare('ours-gcra', 'ours GCRA', () => ourLimiter('gcra')),
    overBare('rlf', 'rate-limiter-flexible RateLimiterMemory consume', () => {
      const limiter = new RateLimiterMemory({ points: HUGE, duration: 1 });
      return () => limiter.consume('bench').then(succeed);
    }),
    overBare('bottleneck', 'bottleneck schedule (a scheduler: each job waits its tick)', () => {
      const limiter = new Bottleneck({ reservoir: null, maxConcurrent: null, minTime: 0 });
      bottlenecks.push(limiter);
      return () => limiter.schedule(succeed);
    }),
  ],
  ratios: [
    overheadRatio('fixed-vs-rlf', 'ours fixed window / rate-limiter-flexible', 'ours-fixed', 'rlf'),
    overheadRatio('gcra-vs-rlf', 'ours GCRA / rate-limiter-flexible', 'ours-gcra', 'rlf'),
    overheadRatio('fixed-vs-bottleneck', 'ours fixed window / bottleneck', 'ours-fixed', 'bottleneck'),
  ],
  verify: async () => {
    const metrics = await Promise.all(ours.map((rl) => rl.getMetrics()));
    const refused = metrics.filter((m) => m.availablePermissions < 0);
    return premise(
      refused.length === 0 ? [] : [`${refused.length} limiter(s) ran out of permits`],
      'no call of ours waited or was refused',
    );
  },
  teardown: async () => {
    for (const b of bottlenecks) await b.disconnect();
  },
});
