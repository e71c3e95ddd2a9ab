/**
 * Entry of a fleet worker. With a mutation named in its config, it first sets up
 * `mutation-hooks.mjs`: for a module, its loader hook (registered after tsx's, so that it sees the
 * compiled source); for a Lua script, its `readFileSync` that mutates what the store reads. Then it
 * loads the worker itself: the store's modules (and scripts) are loaded after that, so the mutated
 * snippet is the one that runs. The mutation is reported (by the hook, on a MessagePort); the
 * worker tells the test, which refuses to go on if the mutation did not apply.
 */
import fs from 'node:fs';
import { register, syncBuiltinESMExports } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import type { WorkerConfig } from './fleet-worker-main.js';
// @ts-expect-error: a plain ES module without types (it is also loaded as loader hooks)
import { mutateReads, mutationNamed, targetsRead } from './mutation-hooks.mjs';

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig & { mutation?: string };

let applied: Promise<unknown> | undefined;
if (config.mutation !== undefined) {
  const mutation = mutationNamed(config.mutation);
  if (targetsRead(mutation)) {
    applied = new Promise((resolve) => mutateReads(mutation, resolve, fs, syncBuiltinESMExports));
  } else {
    const { port1, port2 } = new MessageChannel();
    applied = new Promise((resolve) => port1.once('message', resolve));
    port1.unref();
    register('./mutation-hooks.mjs', import.meta.url, {
      data: { mutation: config.mutation, port: port2 },
      transferList: [port2],
    });
  }
}

const { runWorker } = await import('./fleet-worker-main.js');
await runWorker(config, applied);
