import { describe, expect, it } from 'vitest';
import { itSaysSkippedTimeIsSimulated, logged } from '../scenario.test-support.js';
import { run } from './scenario.js';

describe('gateway-failover example', () => {
  it('fails over from a failing gateway, skips it once its breaker is open, and returns to it', async () => {
    const { result } = await logged((log) => run({ log }));
    const { payments, transitions, gatewayCalls, finalStates } = result;
    const route = (id: number) =>
      payments[id - 1].result.attempts.map((a) => `${a.gateway}:${a.outcome}`).join(' ');

    // 1-3: the preferred gateway takes everything.
    for (const id of [1, 2, 3]) expect(route(id)).toBe('toss:approved');
    // 4-5: toss fails and the payment fails over to nice; the 2nd failure opens toss's breaker.
    expect(route(4)).toBe('toss:failed nice:approved');
    expect(route(5)).toBe('toss:failed nice:approved');
    expect(transitions[0]).toEqual({ gateway: 'toss', from: 'CLOSED', to: 'OPEN', duringPayment: 5 });
    // 6-7: toss is skipped without a request.
    expect(route(6)).toBe('toss:skipped nice:approved');
    expect(route(7)).toBe('toss:skipped nice:approved');
    // 8: a declined card is not failed over.
    expect(route(8)).toBe('toss:skipped nice:declined');
    expect(payments[7].result.status).toBe('declined');
    // 9: nice fails too, kcp takes it.
    expect(route(9)).toBe('toss:skipped nice:failed kcp:approved');
    // 10-11: after the open wait, one probe to toss succeeds and the breaker closes.
    expect(route(10)).toBe('toss:approved');
    expect(route(11)).toBe('toss:approved');
    expect(transitions.filter((t) => t.gateway === 'toss').map((t) => `${t.from}->${t.to}`)).toEqual([
      'CLOSED->OPEN',
      'OPEN->HALF_OPEN',
      'HALF_OPEN->CLOSED',
    ]);
    expect(transitions.every((t) => t.gateway === 'toss')).toBe(true);

    // toss got requests for 1-5 and 10-11 only: 6-9 never reached it.
    expect(gatewayCalls).toEqual({ toss: 7, nice: 6, kcp: 1 });
    expect(finalStates).toEqual({ toss: 'CLOSED', nice: 'CLOSED', kcp: 'CLOSED' });
    expect(payments.every((p) => p.result.status !== 'failed')).toBe(true);
    expect(transitions.map((t) => t.duringPayment)).toEqual([5, 10, 10]);
  });

  itSaysSkippedTimeIsSimulated(run, '30 s later on the simulated clock');

  it('prints a transition when it happens: before the line of the payment it happened during', async () => {
    const { lines } = await logged((log) => run({ log }));
    const from = (id: number) => lines.findIndex((l) => l.startsWith(`  #${String(id).padEnd(2)} `));
    // toss's 2nd failure, during payment 5, opens its breaker; payment 5 then goes to nice
    expect(lines.slice(from(5) - 1, from(5) + 1)).toEqual([
      '      [breaker toss: CLOSED -> OPEN, during payment #5]',
      '  #5  toss failed (toss answered 503), nice approved -> nice-1005',
    ]);
    expect(lines[from(5) - 2]).toMatch(/^ {2}#4 /);
    // payment 10 is the probe: its breaker goes HALF_OPEN to let it through, then CLOSED on its success
    expect(lines.slice(from(10) - 2, from(10) + 1)).toEqual([
      '      [breaker toss: OPEN -> HALF_OPEN, during payment #10]',
      '      [breaker toss: HALF_OPEN -> CLOSED, during payment #10]',
      '  #10 toss approved -> toss-1010',
    ]);
  });
});
