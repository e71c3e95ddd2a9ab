import type { CircuitBreakerStateName } from '@breakwater/core';
import { type MonoTypeOperatorFunction, tap } from 'rxjs';
import { describeTransition, isTransition, type TransitionFields } from './format.js';

export type LogLevel = 'ERROR' | 'WARN' | 'INFO';

/** One log line, before it is written as JSON. */
export interface TransitionLogEntry {
  readonly level: LogLevel;
  readonly message: string;
  readonly name: string;
  readonly state: CircuitBreakerStateName;
  /** The process that made the transition (fleet-wide events only). */
  readonly origin?: string;
}

/**
 * Where `toLog` writes: a function given each line (without its newline) and the entry it was
 * made from, or a stream-like `{ write }` (process.stdout, a file stream) given `line + '\n'`.
 */
export type TransitionLogger =
  | ((line: string, entry: TransitionLogEntry) => void)
  | { write(chunk: string): unknown };

/**
 * A sink: writes one JSON line per circuit breaker state transition and passes every event on,
 * unchanged. Levels: ERROR into OPEN or FORCED_OPEN; INFO into HALF_OPEN and into CLOSED
 * (recovery); WARN otherwise (DISABLED, METRICS_ONLY).
 *
 *     {"level":"ERROR","message":"Circuit upbit/kr/ticker: CLOSED -> OPEN (failure rate 60%)","name":"upbit/kr/ticker","state":"OPEN"}
 *
 * A logger that throws is reported as a process warning; the stream goes on.
 */
export function toLog<E extends { readonly kind: string; readonly type: string }>(
  logger: TransitionLogger = process.stdout,
): MonoTypeOperatorFunction<E> {
  const write: (line: string, entry: TransitionLogEntry) => void =
    typeof logger === 'function'
      ? logger
      : typeof logger?.write === 'function'
        ? (line) => logger.write(`${line}\n`)
        : invalid(logger);
  return tap((event: E) => {
    if (!isTransition(event)) return;
    const entry = transitionLogEntry(event);
    try {
      write(JSON.stringify(entry), entry);
    } catch (error) {
      process.emitWarning(
        `toLog: the logger threw: ${error instanceof Error ? error.message : String(error)}`,
        'BreakwaterLogWarning',
      );
    }
  });
}

/** The log entry of one transition. */
export function transitionLogEntry(t: TransitionFields): TransitionLogEntry {
  const base = { level: levelOf(t.to), message: describeTransition(t), name: t.name, state: t.to };
  return typeof t.origin === 'string' ? { ...base, origin: t.origin } : base;
}

function levelOf(to: CircuitBreakerStateName): LogLevel {
  switch (to) {
    case 'OPEN':
    case 'FORCED_OPEN':
      return 'ERROR';
    case 'HALF_OPEN':
    case 'CLOSED':
      return 'INFO';
    default:
      return 'WARN';
  }
}

function invalid(logger: unknown): never {
  throw new TypeError(
    `toLog: logger must be a function (line, entry) => void or have write(chunk), got ${typeof logger}`,
  );
}
