/** Entry of a fleet worker: its config (JSON) is the first argument. */
import { runWorker, type WorkerConfig } from './fleet-worker-main.js';

await runWorker(JSON.parse(process.argv[2] ?? '{}') as WorkerConfig);
