import { describe, expect, it } from 'vitest';
import { logged } from '../scenario.test-support.js';
import { run } from './main.js';

describe('alerts example', () => {
  it('posts one alert for the trip (after a retry), logs every transition, and summarises the held-back alert', async () => {
    const { result, lines, ms } = await logged((log) => run({ log, openWaitMs: 100 }));
    expect(ms).toBeLessThan(5_000);

    expect(result.statuses).toEqual([503, 200, 200]);
    expect(result.posted).toEqual([
      { text: ':rotating_light: Circuit upbit/kr/ticker: CLOSED -> OPEN (failure rate 60%)' },
      { text: expect.stringMatching(/^:mute: 1 alert suppressed since .* \(upbit\/kr\/ticker\)$/) },
    ]);
    expect(result.alerts.map((a) => a.type)).toEqual(['CIRCUIT_OPEN', 'SUPPRESSED']);

    expect(result.logLines.map((l) => JSON.parse(l) as { level: string; state: string })).toEqual([
      {
        level: 'ERROR',
        message: 'Circuit upbit/kr/ticker: CLOSED -> OPEN (failure rate 60%)',
        name: 'upbit/kr/ticker',
        state: 'OPEN',
      },
      expect.objectContaining({ level: 'INFO', state: 'HALF_OPEN' }),
      expect.objectContaining({ level: 'INFO', state: 'CLOSED' }),
      expect.objectContaining({ level: 'ERROR', state: 'OPEN' }),
    ]);
    expect(result.finalState).toBe('OPEN');
    expect(lines).toContain('  call: refused (breaker open)');
    expect(lines.some((l) => l.includes('webhook answered 503'))).toBe(true);
  });
});
