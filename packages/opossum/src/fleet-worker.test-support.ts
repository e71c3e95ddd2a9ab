/**
 * One process of the fleet in `fleet.test.ts`: an opossum-style breaker with a RedisStore (on the
 * Redis whose URL is its argument), driven by JSON lines (see test/support/worker-channel.ts).
 *
 *   in:  { type: 'init', name, processId, options }   options: the breaker's (JSON-able) options
 *        { type: 'fire', id, x }                       fire(x): x < 0 fails, 'hold' waits for 'release'
 *        { type: 'release' }                           held calls succeed
 *        { type: 'state' }
 *   out: { type: 'ready' } | { type: 'fired', id, outcome }  outcome: the value, or the error's code or name
 *        { type: 'event', name }                       the breaker's open, halfOpen, close, reject events
 *        { type: 'action', x }                         the action started (the call reached the downstream)
 *        { type: 'state', closed, opened, halfOpen, stats }
 *        { type: 'unhandled', error }                  an unhandled rejection (the test asserts there is none)
 */
import { RedisStore } from '@breakwater/store-redis';
import { Redis } from 'ioredis';
import { workerChannel } from '../../../test/support/worker-channel.js';
import CircuitBreaker from './index.js';

interface InMessage {
  readonly type: 'init' | 'fire' | 'release' | 'state';
  readonly name?: string;
  readonly processId?: string;
  readonly options?: CircuitBreaker.Options<[number | 'hold']>;
  readonly id?: number;
  readonly x?: number | 'hold';
}

const url = process.argv[2];
if (url === undefined) throw new Error('usage: fleet-worker.test-support.ts <redis url>');
const channel = workerChannel<InMessage>();
process.on('unhandledRejection', (error) => channel.send({ type: 'unhandled', error: String(error) }));

let breaker: CircuitBreaker<[number | 'hold'], number | string> | undefined;
const held: (() => void)[] = [];

async function action(x: number | 'hold'): Promise<number | string> {
  channel.send({ type: 'action', x });
  if (x === 'hold') {
    await new Promise<void>((resolve) => held.push(resolve));
    return 'held';
  }
  if (x < 0) throw new Error(`downstream failed: ${x}`);
  return x * 2;
}

channel.onMessage(async (message) => {
  switch (message.type) {
    case 'init': {
      const client = new Redis(url);
      const store = new RedisStore({ client, processId: message.processId, commandTimeout: 1_000 });
      breaker = new CircuitBreaker(action, { ...message.options, name: message.name, store });
      for (const name of ['open', 'halfOpen', 'close', 'reject'] as const) {
        breaker.on(name as 'open', () => channel.send({ type: 'event', name }));
      }
      channel.send({ type: 'ready' });
      return;
    }
    case 'fire': {
      const b = breaker!;
      const outcome = await b.fire(message.x!).then(
        (value) => value,
        (error: { code?: string; name?: string }) => error.code ?? error.name ?? 'error',
      );
      channel.send({ type: 'fired', id: message.id, outcome });
      return;
    }
    case 'release':
      for (const resolve of held.splice(0)) resolve();
      return;
    case 'state': {
      const b = breaker!;
      channel.send({
        type: 'state',
        closed: b.closed,
        opened: b.opened,
        halfOpen: b.halfOpen,
        stats: b.stats,
      });
      return;
    }
  }
});
