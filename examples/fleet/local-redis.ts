/**
 * A throwaway redis-server for the demo when `REDIS_URL` is not set: a free loopback port, no
 * persistence, stopped at the end.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';

export interface LocalRedis {
  readonly url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function startLocalRedis(): Promise<LocalRedis> {
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    server.once('error', (e) =>
      reject(new Error(`could not start redis-server (is it installed?): ${e.message}`)),
    ),
  );
  spawnError.catch(() => {}); // awaited in the race below; never unhandled afterwards
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited;
  };
  // wait until it answers
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
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
    await stop();
    throw error;
  } finally {
    client.disconnect();
  }
  return { url, stop };
}
