/**
 * `pnpm --filter @breakwater/example-gateway-failover start`: a payment router that fails over from
 * toss to nice to kcp, each gateway behind its own circuit breaker. Runs instantly, exits 0.
 */
import { run } from './scenario.js';

console.log('Payment router: toss -> nice -> kcp, each behind its own circuit breaker');
console.log('(window of 4 calls, opens at >= 50% failures, open for 30 s, 1 probe; on a simulated clock)\n');
const result = await run({ log: (line) => console.log(line) });
const byGateway = Object.entries(result.gatewayCalls)
  .map(([name, n]) => `${name} ${n}`)
  .join(', ');
console.log(`\nrequests that reached each gateway: ${byGateway}`);
console.log(
  `final breaker states: ${Object.entries(result.finalStates)
    .map(([name, s]) => `${name} ${s}`)
    .join(', ')}`,
);
