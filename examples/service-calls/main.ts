/**
 * `pnpm --filter @breakwater/example-service-calls start`: a product page built from three services,
 * each behind its own breaker with a fallback (cached profile, no orders, unknown availability).
 * Takes well under a second; exits 0.
 */
import { run } from './scenario.js';

console.log('Product page from user-, order- and inventory-service, each behind its own breaker + fallback');
console.log('(window of 6 calls, opens at >= 50% failures after 3 calls; inventory times out after 50 ms)');
console.log('(the breakers run on a simulated clock; the time-outs and the ms per page are real)\n');
const result = await run({ log: (line) => console.log(line) });
console.log(
  `\nrequests that reached each service: user ${result.calls.user}, orders ${result.calls.orders}, ` +
    `inventory ${result.calls.inventory} (${result.inventoryAbandoned} aborted by the time limiter)`,
);
console.log(
  `final breaker states: ${Object.entries(result.finalStates)
    .map(([name, s]) => `${name} ${s}`)
    .join(', ')}`,
);
