/**
 * A throwaway redis-server for the demos when `REDIS_URL` is not set: a free loopback port, no
 * persistence, stopped at the end. It can be killed (kill -9, as a crash would) and restarted on
 * the same port, for outage scenarios (examples/cache-fallback).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  /** kill -9: the server is gone at once, with everything it held (nothing is persisted). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty), and waits until it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A loopback TCP port that was free a moment ago: bound on :0, read, released. For a server started
 * right after (the test of examples/metrics with Prometheus uses it too).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A redis-server on `port`, answering PING, with a promise of its exit. */
async function launch(port: number): Promise<{ server: ChildProcess; exited: Promise<void> }> {
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    server.once('error', (e) =>
      reject(new Error(`could not start redis-server (is it installed?): ${e.message}`)),
    ),
  );
  spawnError.catch(() => {}); // awaited in the race below; never unhandled afterwards
  // wait until it answers
  const client = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  const deadline = Date.now() + 5_000;
  try {
    for (;;) {
      const answered = await Promise.race([
        client.connect().then(
          () => client.ping(),
          () => undefined,
        ),
        spawnError,
      ]);
      if (answered === 'PONG') break;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within 5 s`);
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    await exited;
    throw error;
  } finally {
    client.disconnect();
  }
  return { server, exited };
}

export async function startLocalRedis(): Promise<LocalRedis> {
  const port = await freePort();
  let current = await launch(port);
  const end = async (signal: NodeJS.Signals) => {
    const { server, exited } = current;
    if (server.exitCode === null && server.signalCode === null) server.kill(signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGKILL');
      current = await launch(port);
    },
    stop: () => end('SIGTERM'),
  };
}
