import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from './story.js';

/** The story on fake timers (Date.now() and setTimeout): 12 s of it in a moment, the same every time. */
async function story(): Promise<string[]> {
  vi.useFakeTimers({ now: Date.UTC(2024, 0, 1) });
  const lines: string[] = [];
  const done = run({ print: (line) => lines.push(line) });
  await vi.runAllTimersAsync();
  await done;
  return lines;
}

afterEach(() => {
  vi.useRealTimers();
});

const ROW = /^ +\d+s (\S+) +([ox.]+)$/;
const TRANSITION = /^ +\d+\.\ds {2}(\S+) *-> (\S+) +(.*)$/;

describe('the demo', () => {
  it('tells the story: opens in the outage, backs off when probes fail, closes on recovery', async () => {
    const lines = await story();
    const transitions = lines.flatMap((l) => {
      const m = TRANSITION.exec(l);
      return m ? [`${m[1]}->${m[2]}`] : [];
    });
    expect(transitions).toEqual([
      'CLOSED->OPEN',
      'OPEN->HALF_OPEN',
      'HALF_OPEN->OPEN',
      'OPEN->HALF_OPEN',
      'HALF_OPEN->CLOSED',
    ]);
  });

  it('prints a transition before the result of the call it happened during, not in the next row', async () => {
    const lines = await story();
    // every transition happened during a call: its line ends with that call's result
    const during = lines
      .filter((l) => TRANSITION.test(l))
      .map((l) => /\[during a call: ([ox.])\]$/.exec(l)?.[1]);
    expect(during).toEqual(['x', 'x', 'o', 'o', 'o']);
    // so no row shows a call in a state it was not made in: an OPEN breaker calls nothing
    for (const line of lines) {
      const row = ROW.exec(line);
      if (row?.[1] === 'OPEN') expect(row[2], line).toMatch(/^\.+$/);
    }
    // the probes of the first HALF_OPEN, in the order they were made: the first is the call during which
    // the wait ended; two of three failed (67%)
    const halfOpen = lines.findIndex((l) => l.includes('OPEN     -> HALF_OPEN'));
    const reopened = lines.findIndex((l) => l.includes('HALF_OPEN-> OPEN'));
    const probes = [
      /\[during a call: (.)\]$/.exec(lines[halfOpen])?.[1],
      ...lines.slice(halfOpen + 1, reopened).flatMap((l) => [...(ROW.exec(l)?.[2] ?? '')]),
      /\[during a call: (.)\]$/.exec(lines[reopened])?.[1],
    ];
    expect(probes).toEqual(['x', 'x', 'o']);
    expect(lines[reopened]).toMatch(/failure rate 67%/);
  });
});
