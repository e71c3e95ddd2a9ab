import { NEVER_ABORTED } from '@breakwater/core/engine';

const noop = () => {};

/**
 * One load of one key in this process, shared by every caller that misses the key meanwhile
 * (stampede protection). Its answer may come before its work ends: a stale value after a soft
 * timeout answers the callers while the loader goes on, and the work still stores its value.
 *
 * The loader's signal aborts only when every caller that joined has given up (each with its own
 * signal) and no caller without a signal joined; a background flight (an early refresh, a load
 * that goes on after a soft timeout) is never aborted by a caller.
 */
export class Flight<T> {
  readonly answer: Promise<T>;
  private resolveAnswer!: (value: T) => void;
  private rejectAnswer!: (error: unknown) => void;
  /** The callers have their answer. */
  answered = false;
  /** A delete or clear came after the load started: its value must not be stored. */
  invalidated = false;
  /**
   * Only when the first caller came with a signal: a caller without one waits to the end, so the
   * loader could never be aborted (and a new AbortController costs more than the rest of a miss).
   */
  private readonly controller: AbortController | undefined;
  private abortable = 0;
  private steadfast = 0;

  constructor(
    /** No caller waits on it; it only refreshes. */
    public background: boolean,
    /** An early refresh: a shared entry due for refresh too does not count as fresh. */
    readonly refresh: boolean,
    /** The first caller's signal, if it gave one. */
    firstSignal: AbortSignal | undefined,
  ) {
    this.controller =
      background || firstSignal === undefined || firstSignal === NEVER_ABORTED
        ? undefined
        : new AbortController();
    this.answer = new Promise<T>((resolve, reject) => {
      this.resolveAnswer = resolve;
      this.rejectAnswer = reject;
    });
    // With no caller left (all aborted, or a background flight), a failure is nobody's to handle.
    this.answer.catch(noop);
  }

  /** The signal handed to the loader. */
  get signal(): AbortSignal {
    return this.controller?.signal ?? NEVER_ABORTED;
  }

  resolve(value: T): void {
    if (this.answered) return;
    this.answered = true;
    this.resolveAnswer(value);
  }

  reject(error: unknown): void {
    if (this.answered) return;
    this.answered = true;
    this.rejectAnswer(error);
  }

  /** The answer for one more caller; with `signal`, that caller may leave early. */
  join(signal: AbortSignal | undefined): Promise<T> {
    if (signal === undefined || signal === NEVER_ABORTED) {
      this.steadfast++;
      return this.answer;
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    this.abortable++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        if (--this.abortable === 0 && this.steadfast === 0 && !this.answered && !this.background) {
          this.controller?.abort(signal.reason);
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.answer.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}
