/**
 * `pnpm --filter @breakwater/example-fleet start`: three worker processes share one circuit
 * breaker through Redis (REDIS_URL, or a redis-server started for the demo). One worker's
 * failures open it for all of them; after the open wait one probe closes it for all. ~5 s, exits 0.
 */
import { run, WORKERS } from './scenario.js';

console.log('Fleet demo: one circuit breaker shared by three processes through Redis\n');
const result = await run({ log: (line) => console.log(line) });
const agreed = WORKERS.every((w) => result.finalStates[w] === 'CLOSED');
const sawOpen = WORKERS.filter((w) => result.calls.some((c) => c.worker === w && c.outcome === 'refused'));
console.log(
  `\nrefused while OPEN: ${sawOpen.join(', ')}; final states: ${WORKERS.map((w) => `${w} ${result.finalStates[w]}`).join(', ')}`,
);
console.log(agreed ? 'the fleet agreed at every step' : 'the fleet did NOT agree');
process.exitCode = agreed ? 0 : 1;
