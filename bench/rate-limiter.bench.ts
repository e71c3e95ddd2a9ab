/**
 * The rate limiter in-process: the cost of one permitted call through our `RateLimiter` (fixed
 * window and GCRA), against rate-limiter-flexible's in-memory limiter (`consume`, then the call)
 * and bottleneck's scheduler (`schedule`), each configured so that nothing ever waits or is refused.
 * Figures for the record (no target); the fleet-wide limiter is measured in the redis suite.
 */
import { RateLimiter } from '@breakwater/core';
import Bottleneck from 'bottleneck';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { defineSuite, type Invoke } from './harness.js';

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
  name: 'rate-limiter',
  description: 'rate limiter, in-process, a permitted call: ours vs rate-limiter-flexible and bottleneck',
  cases: [
    { id: 'bare', label: 'bare await fn()', setup: () => succeed },
    {
      id: 'ours-fixed',
      label: 'ours fixed window',
      baseline: 'bare',
      setup: () => ourLimiter('fixed-window'),
    },
    { id: 'ours-gcra', label: 'ours GCRA', baseline: 'bare', setup: () => ourLimiter('gcra') },
    {
      id: 'rlf',
      label: 'rate-limiter-flexible RateLimiterMemory consume',
      baseline: 'bare',
      setup: () => {
        const limiter = new RateLimiterMemory({ points: HUGE, duration: 1 });
        return () => limiter.consume('bench').then(succeed);
      },
    },
    {
      id: 'bottleneck',
      label: 'bottleneck schedule (a scheduler: each job waits its tick)',
      baseline: 'bare',
      setup: () => {
        const limiter = new Bottleneck({ reservoir: null, maxConcurrent: null, minTime: 0 });
        bottlenecks.push(limiter);
        return () => limiter.schedule(succeed);
      },
    },
  ],
  ratios: [
    {
      id: 'fixed-vs-rlf',
      label: 'ours fixed window / rate-limiter-flexible',
      numerator: { overhead: 'ours-fixed' },
      denominator: { overhead: 'rlf' },
    },
    {
      id: 'gcra-vs-rlf',
      label: 'ours GCRA / rate-limiter-flexible',
      numerator: { overhead: 'ours-gcra' },
      denominator: { overhead: 'rlf' },
    },
    {
      id: 'fixed-vs-bottleneck',
      label: 'ours fixed window / bottleneck',
      numerator: { overhead: 'ours-fixed' },
      denominator: { overhead: 'bottleneck' },
    },
  ],
  verify: async () => {
    const metrics = await Promise.all(ours.map((rl) => rl.getMetrics()));
    const refused = metrics.filter((m) => m.availablePermissions < 0);
    return [
      {
        pass: refused.length === 0,
        detail:
          refused.length === 0
            ? 'no call of ours waited or was refused'
            : `${refused.length} limiter(s) ran out of permits`,
      },
    ];
  },
  teardown: async () => {
    for (const b of bottlenecks) await b.disconnect();
  },
});
