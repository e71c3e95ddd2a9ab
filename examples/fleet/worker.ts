/**
 * One process of the fleet: its own Redis connection and RedisStore, and the shared breaker.
 * Run by main.ts with `fork`: `worker.ts <name> <redis url>`.
 */
import { CallNotPermittedError, CircuitBreaker } from '@breakwater/core';
import { RedisStore } from '@breakwater/store-redis';
import { Redis } from 'ioredis';
import { BREAKER_CONFIG, BREAKER_NAME, type FromWorker, type ToWorker } from './protocol.js';

const [worker, url] = process.argv.slice(2);
const send = (message: FromWorker) => process.send?.(message);

const client = new Redis(url);
// The only line that differs from an in-process breaker: `store`.
const store = new RedisStore({ client, processId: worker });
const breaker = CircuitBreaker.of(BREAKER_NAME, BREAKER_CONFIG, { store });

// The transitions this worker's own calls make (those of other workers come by pub/sub, below).
// Calls are made one at a time, so those since the call began are the call's.
let madeDuringCall: string[] = [];
breaker.on('STATE_TRANSITION', (e) => madeDuringCall.push(`${e.from} -> ${e.to}`));

store.onFleetTransition((message) => {
  for (const t of message.transitions) {
    send({ type: 'heard', worker, origin: message.origin, from: t.from, to: t.to });
  }
});

/** This worker's view of the downstream: healthy, or failing (say its network path is broken). */
async function inventoryApi(broken: boolean): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  if (broken) throw new Error('inventory-api: 503 Service Unavailable');
  return 'stock: 12';
}

process.on('message', async (message: ToWorker) => {
  if (message.type === 'exit') {
    breaker.close();
    await store.close();
    await client.quit();
    process.disconnect?.();
    return;
  }
  madeDuringCall = [];
  let reachedDownstream = false;
  let outcome: 'ok' | 'failed' | 'refused';
  try {
    await breaker.execute(() => {
      reachedDownstream = true;
      return inventoryApi(message.broken);
    });
    outcome = 'ok';
  } catch (error) {
    outcome = error instanceof CallNotPermittedError ? 'refused' : 'failed';
  }
  const transitions = madeDuringCall;
  send({ type: 'result', worker, outcome, reachedDownstream, state: await breaker.getState(), transitions });
});

// the parent went away: leave too
process.on('disconnect', () => process.exit(0));

await breaker.getState(); // connected
await new Promise((resolve) => setTimeout(resolve, 100)); // the pub/sub subscription is made in the background
send({ type: 'ready', worker });
