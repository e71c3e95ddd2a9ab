import { describe, expect, it } from 'vitest';
import { itSaysSkippedTimeIsSimulated, logged } from '../scenario.test-support.js';
import { run } from './scenario.js';

describe('service-calls example', () => {
  itSaysSkippedTimeIsSimulated(run, '10 s later on the simulated clock');

  it('counts orders in words: 1 order, not 1 order(s)', async () => {
    const { lines } = await logged((log) => run({ log }));
    expect(lines.join('\n')).not.toContain('(s)');
    expect(lines.filter((l) => l.includes(', 1 order (live)'))).toHaveLength(6);
  });

  it('renders from fallbacks while services fail, stops calling them once their breakers open, and recovers', async () => {
    const { rounds, calls, inventoryAbandoned, transitions, finalStates } = await run();
    const sources = rounds.map((r) => `${r.sources.user}/${r.sources.orders}/${r.sources.inventory}`);
    expect(sources).toEqual([
      'live/live/live', // healthy
      'cache/live/default', // user down -> cached profile; orders glitch retried; inventory timed out
      'cache/live/default',
      'cache/live/default', // both breakers open: answered without calling the services
      'default/live/default', // u2 was never cached: a guest profile
      'live/live/live', // recovered: the probes succeed and the breakers close
    ]);
    expect(rounds[1].page.user.value.name).toBe('User U1');
    expect(rounds[4].page.user.value.name).toBe('Guest');
    expect(rounds[1].page.inventory.value.inStock).toBeNull();

    // user: 1 + 2 attempts (the 2nd failure opens its breaker) + 1 probe. The retry does not retry
    // CallNotPermittedError, so the open breaker costs the service nothing.
    expect(calls.user).toBe(4);
    // inventory: 1 + 2 timeouts (the 2nd opens its breaker) + 1 probe; the timeouts aborted the requests.
    expect(calls.inventory).toBe(4);
    expect(inventoryAbandoned).toBe(2);
    // orders: one per round plus the retried glitch.
    expect(calls.orders).toBe(7);
    // The three services are called concurrently, so only each breaker's own sequence is fixed.
    const of = (service: string) => transitions.filter((t) => t.startsWith(`${service}:`));
    for (const service of ['user-service', 'inventory-service']) {
      expect(of(service)).toEqual([
        `${service}: CLOSED -> OPEN`,
        `${service}: OPEN -> HALF_OPEN`,
        `${service}: HALF_OPEN -> CLOSED`,
      ]);
    }
    expect(of('order-service')).toEqual([]);
    expect(finalStates).toEqual({
      'user-service': 'CLOSED',
      'order-service': 'CLOSED',
      'inventory-service': 'CLOSED',
    });
  });
});
