/**
 * The worker side of `spawnWorker()` (./redis-harness.ts): JSON lines on stdin (messages from the
 * test) and stdout (messages to the test). Keep stdout for messages only; log to stderr.
 *
 * By default the worker exits when its stdin closes, so a worker whose test process died (or
 * called `end()`) never lingers.
 *
 *   const channel = workerChannel();
 *   channel.onMessage((msg) => channel.send({ type: 'echo', msg }));
 *   channel.send({ type: 'ready' });
 */

import readline from 'node:readline';

export type ChannelMessage = { readonly type?: string; readonly [key: string]: unknown };

export interface WorkerChannel<In = ChannelMessage> {
  /** Writes one JSON line to stdout. */
  send(message: unknown): void;
  /** Calls `handler` for every JSON object line read from stdin (rejections are reported on stderr and exit 1). */
  onMessage(handler: (message: In) => void | Promise<void>): void;
  /** Flushes stdout, then exits with `code`. */
  exit(code?: number): void;
}

export interface WorkerChannelOptions {
  /** Exit (code 0) when stdin closes. Default true. */
  exitOnStdinEnd?: boolean;
}

export function workerChannel<In = ChannelMessage>(options: WorkerChannelOptions = {}): WorkerChannel<In> {
  const handlers: ((message: In) => void | Promise<void>)[] = [];
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  const fail = (error: unknown) => {
    process.stderr.write(
      `worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    channel.exit(1);
  };
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let message: In;
    try {
      message = JSON.parse(line) as In;
    } catch {
      process.stderr.write(`worker: ignoring non-JSON input line: ${line}\n`);
      return;
    }
    for (const handler of handlers) {
      try {
        Promise.resolve(handler(message)).catch(fail);
      } catch (error) {
        fail(error);
      }
    }
  });
  if (options.exitOnStdinEnd !== false) lines.once('close', () => channel.exit(0));

  const channel: WorkerChannel<In> = {
    send(message) {
      process.stdout.write(`${JSON.stringify(message)}\n`);
    },
    onMessage(handler) {
      handlers.push(handler);
    },
    exit(code = 0) {
      process.stdout.write('', () => process.exit(code));
    },
  };
  return channel;
}
