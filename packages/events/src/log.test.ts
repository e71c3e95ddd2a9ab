import { PassThrough } from 'node:stream';
import {
  type BreakerStateTransitionEvent,
  CircuitBreaker,
  type CircuitBreakerEvent,
  type CircuitBreakerStateName,
  ManualClock,
  type TransitionReason,
} from '@breakwater/core';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventsOf } from './events-of.js';
import { type TransitionLogEntry, toLog } from './log.js';

const transition = (
  from: CircuitBreakerStateName,
  to: CircuitBreakerStateName,
  reason: TransitionReason,
  failureRate = -1,
  slowCallRate = -1,
): BreakerStateTransitionEvent => ({
  kind: 'circuitbreaker',
  type: 'STATE_TRANSITION',
  name: 'upbit/kr/ticker',
  at: 0,
  from,
  to,
  reason,
  failureRate,
  slowCallRate,
});

afterEach(() => vi.restoreAllMocks());

describe('toLog', () => {
  it('writes one JSON line per state transition, as in the seed material', async () => {
    const lines: string[] = [];
    await lastValueFrom(
      from([transition('CLOSED', 'OPEN', 'FAILURE_RATE', 60, 0)]).pipe(toLog((l) => lines.push(l))),
    );
    expect(lines).toEqual([
      '{"level":"ERROR","message":"Circuit upbit/kr/ticker: CLOSED -> OPEN (failure rate 60%)","name":"upbit/kr/ticker","state":"OPEN"}',
    ]);
  });

  it('levels: ERROR into OPEN/FORCED_OPEN, INFO into HALF_OPEN and CLOSED, WARN otherwise', async () => {
    const entries: TransitionLogEntry[] = [];
    await lastValueFrom(
      from([
        transition('CLOSED', 'OPEN', 'SLOW_CALL_RATE', 10, 100),
        transition('OPEN', 'HALF_OPEN', 'WAIT_ELAPSED'),
        transition('HALF_OPEN', 'OPEN', 'HALF_OPEN_FAILURE', 50, 0),
        transition('HALF_OPEN', 'CLOSED', 'HALF_OPEN_PASSED', 0, 0),
        transition('CLOSED', 'FORCED_OPEN', 'MANUAL'),
        transition('FORCED_OPEN', 'DISABLED', 'MANUAL'),
        transition('DISABLED', 'METRICS_ONLY', 'MANUAL'),
        transition('METRICS_ONLY', 'CLOSED', 'RESET'),
        transition('CLOSED', 'OPEN', 'CONSECUTIVE_FAILURES'),
        transition('CLOSED', 'OPEN', 'FAILURE_RATE', 100 / 3),
      ]).pipe(toLog((_line, entry) => entries.push(entry))),
    );
    expect(entries.map((e) => `${e.level} ${e.message}`)).toEqual([
      'ERROR Circuit upbit/kr/ticker: CLOSED -> OPEN (slow call rate 100%)',
      'INFO Circuit upbit/kr/ticker: OPEN -> HALF_OPEN (open wait elapsed)',
      'ERROR Circuit upbit/kr/ticker: HALF_OPEN -> OPEN (probe calls failed, failure rate 50%)',
      'INFO Circuit upbit/kr/ticker: HALF_OPEN -> CLOSED (probe calls passed, failure rate 0%)',
      'ERROR Circuit upbit/kr/ticker: CLOSED -> FORCED_OPEN (manual)',
      'WARN Circuit upbit/kr/ticker: FORCED_OPEN -> DISABLED (manual)',
      'WARN Circuit upbit/kr/ticker: DISABLED -> METRICS_ONLY (manual)',
      'INFO Circuit upbit/kr/ticker: METRICS_ONLY -> CLOSED (reset)',
      'ERROR Circuit upbit/kr/ticker: CLOSED -> OPEN (consecutive failures)',
      'ERROR Circuit upbit/kr/ticker: CLOSED -> OPEN (failure rate 33.3%)',
    ]);
  });

  it('passes every event on, unchanged, and logs only transitions', async () => {
    const lines: string[] = [];
    const events: CircuitBreakerEvent[] = [
      { kind: 'circuitbreaker', type: 'SUCCESS', name: 'a', at: 0, durationMs: 1 },
      transition('CLOSED', 'OPEN', 'MANUAL'),
      { kind: 'circuitbreaker', type: 'FORCED_OPEN', name: 'a', at: 0 },
    ];
    const out = await lastValueFrom(
      from(events).pipe(
        toLog((l) => lines.push(l)),
        toArray(),
      ),
    );
    expect(out).toEqual(events);
    expect(out[1]).toBe(events[1]);
    expect(lines).toHaveLength(1);
  });

  it('names the origin of fleet-wide transitions', async () => {
    const lines: string[] = [];
    const fleet = { ...transition('CLOSED', 'OPEN', 'FAILURE_RATE', 75), origin: 'api-3:99', until: 1 };
    await lastValueFrom(from([fleet]).pipe(toLog((l) => lines.push(l))));
    expect(JSON.parse(lines[0])).toEqual({
      level: 'ERROR',
      message: 'Circuit upbit/kr/ticker: CLOSED -> OPEN (failure rate 75%)',
      name: 'upbit/kr/ticker',
      state: 'OPEN',
      origin: 'api-3:99',
    });
  });

  it('writes to stdout by default, and to any { write } stream', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await lastValueFrom(from([transition('OPEN', 'HALF_OPEN', 'WAIT_ELAPSED')]).pipe(toLog()));
    expect(write).toHaveBeenCalledWith(
      '{"level":"INFO","message":"Circuit upbit/kr/ticker: OPEN -> HALF_OPEN (open wait elapsed)","name":"upbit/kr/ticker","state":"HALF_OPEN"}\n',
    );
    write.mockRestore();

    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString()));
    await lastValueFrom(from([transition('CLOSED', 'OPEN', 'MANUAL')]).pipe(toLog(stream)));
    expect(chunks.join('')).toMatch(/^\{"level":"ERROR",.*"state":"OPEN"\}\n$/);
  });

  it('a logger that throws becomes a process warning; the stream goes on', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const out = await lastValueFrom(
      from([transition('CLOSED', 'OPEN', 'MANUAL'), transition('OPEN', 'CLOSED', 'MANUAL')]).pipe(
        toLog(() => {
          throw new Error('disk full');
        }),
        toArray(),
      ),
    );
    expect(out).toHaveLength(2);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[0][0])).toContain('disk full');
  });

  it('rejects a logger that is neither a function nor a stream', () => {
    expect(() => toLog(42 as never)).toThrow(TypeError);
  });

  it('logs a live breaker', async () => {
    const clock = new ManualClock(1_000);
    const cb = CircuitBreaker.of('live', { slidingWindowSize: 2, minimumNumberOfCalls: 2 }, { clock });
    const lines: string[] = [];
    const sub = eventsOf(cb)
      .pipe(toLog((l) => lines.push(l)))
      .subscribe();
    for (let i = 0; i < 2; i++) {
      await cb
        .execute(() => {
          throw new Error('x');
        })
        .catch(() => {});
    }
    sub.unsubscribe();
    expect(lines).toEqual([
      '{"level":"ERROR","message":"Circuit live: CLOSED -> OPEN (failure rate 100%)","name":"live","state":"OPEN"}',
    ]);
  });
});
