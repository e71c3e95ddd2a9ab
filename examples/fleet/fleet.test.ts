import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis, stopAll } from '../../test/support/redis-harness.js';
import { startLocalRedis } from './local-redis.js';
import { run, WORKERS } from './scenario.js';

afterAll(stopAll);

/** Workers load TypeScript sources (no build needed). */
const workerExecArgv = ['--import', 'tsx', '--conditions=breakwater-source'];

describe('fleet example', () => {
  it('three processes agree: one worker opens the shared breaker for all, one probe closes it for all', async () => {
    const server = await startRedis();
    const lines: string[] = [];
    const result = await run({ redisUrl: server.url, workerExecArgv, log: (l) => lines.push(l) });
    const calls = (phase: string) => result.calls.filter((c) => c.phase === phase);

    expect(calls('healthy').map((c) => c.outcome)).toEqual(['ok', 'ok', 'ok']);
    // w2's failures open it: window of 6, opens at 50% once 4 calls are in
    const broken = calls('w2 broken');
    expect(broken.map((c) => `${c.worker} ${c.outcome} ${c.state}`)).toEqual([
      'w2 failed CLOSED',
      'w2 failed CLOSED',
      'w2 failed OPEN',
    ]);
    // every worker is refused without reaching the API
    expect(calls('open').map((c) => `${c.worker} ${c.outcome} ${c.reachedDownstream} ${c.state}`)).toEqual([
      'w1 refused false OPEN',
      'w3 refused false OPEN',
      'w2 refused false OPEN',
    ]);
    // one probe after the wait closes it, for everyone
    expect(calls('recovery').map((c) => `${c.worker} ${c.outcome} ${c.state}`)).toEqual(['w3 ok CLOSED']);
    expect(calls('recovered').every((c) => c.outcome === 'ok' && c.state === 'CLOSED')).toBe(true);
    expect(result.finalStates).toEqual({ w1: 'CLOSED', w2: 'CLOSED', w3: 'CLOSED' });
    // and every worker heard every transition, from the worker that made it
    for (const w of WORKERS) {
      expect(result.heard[w]).toEqual(['w2: CLOSED->OPEN', 'w3: OPEN->HALF_OPEN', 'w3: HALF_OPEN->CLOSED']);
    }
    expect(lines.join('\n')).toContain('w2 moved the breaker CLOSED -> OPEN, heard by w1, w2, w3');
    // a transition is printed before the line of the call it happened during
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    const opened = at("[breaker CLOSED -> OPEN, during w2's call]");
    expect(lines[opened + 1]).toMatch(/^ {2}w2: call failed .* shared state OPEN$/);
    const probe = at("[breaker OPEN -> HALF_OPEN, during w3's call]");
    expect(lines[probe + 1]).toContain("[breaker HALF_OPEN -> CLOSED, during w3's call]");
    expect(lines[probe + 2]).toMatch(/^ {2}w3: call ok .* shared state CLOSED$/);
    expect(broken.map((c) => c.transitions)).toEqual([[], [], ['CLOSED -> OPEN']]);
    expect(calls('recovery')[0].transitions).toEqual(['OPEN -> HALF_OPEN', 'HALF_OPEN -> CLOSED']);
    // the shared state is in Redis, hash-tagged by name
    const client = server.client();
    expect(JSON.parse((await client.get('breakwater:{cb:inventory-api}:state'))!)).toMatchObject({
      state: 'CLOSED',
    });
  }, 30_000);

  it('starts a throwaway redis-server when REDIS_URL is not set, and stops it', async () => {
    const local = await startLocalRedis();
    const client = new Redis(local.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    expect(await client.ping()).toBe('PONG');
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    client.disconnect();
    await local.stop();
    const port = Number(new URL(local.url).port);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
