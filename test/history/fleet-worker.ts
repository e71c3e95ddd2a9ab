/**
 * Entry of a fleet worker. With a mutation named in its config, it first registers the loader
 * hook of `mutation-hooks.mjs` (after tsx's, so that it sees the compiled source), then loads the
 * worker itself: the store's modules are loaded after the hook, so the mutated snippet is the one
 * that runs. The hook reports each rewrite on a MessagePort; the worker tells the test, which
 * refuses to go on if the mutation did not apply.
 */
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import type { WorkerConfig } from './fleet-worker-main.js';

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig & { mutation?: string };

let applied: Promise<unknown> | undefined;
if (config.mutation !== undefined) {
  const { port1, port2 } = new MessageChannel();
  applied = new Promise((resolve) => port1.once('message', resolve));
  port1.unref();
  register('./mutation-hooks.mjs', import.meta.url, {
    data: { mutation: config.mutation, port: port2 },
    transferList: [port2],
  });
}

const { runWorker } = await import('./fleet-worker-main.js');
await runWorker(config, applied);
