/**
 * `pnpm --filter @breakwater/example-metrics start`: a service exercising every Breakwater policy,
 * serving Prometheus metrics until Ctrl-C.
 *
 * Environment:
 *   METRICS_HOST  interface to listen on (default 127.0.0.1; 0.0.0.0 for the docker-compose stack)
 *   METRICS_PORT  port (default 9464; 0 picks a free one)
 *   REDIS_URL     keep the policies' state in Redis (and report the store's own metrics)
 *   PHASE_MS      length of each phase of the flaky downstream (default 15000)
 */
import { startMetricsExample } from './service.js';

const env = process.env;
const example = await startMetricsExample({
  host: env.METRICS_HOST || '127.0.0.1',
  port: env.METRICS_PORT === undefined || env.METRICS_PORT === '' ? 9464 : Number(env.METRICS_PORT),
  redisUrl: env.REDIS_URL || undefined,
  phaseMs: env.PHASE_MS ? Number(env.PHASE_MS) : undefined,
  log: (line) => console.log(`${new Date().toISOString().slice(11, 23)} ${line}`),
});
console.log(`metrics: ${example.url}`);
console.log(
  env.REDIS_URL ? 'policy state: in Redis' : 'policy state: in-process (set REDIS_URL to share it)',
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await example.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
