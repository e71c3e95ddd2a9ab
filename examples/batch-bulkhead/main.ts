/**
 * `pnpm --filter @breakwater/example-batch-bulkhead start`: a batch import in chunks behind a
 * bulkhead (at most 3 chunks at once) and a circuit breaker; chunks that fail or that the open
 * breaker refuses are saved and imported in a second pass. Takes well under a second; exits 0.
 */
import { run } from './scenario.js';

console.log('Batch import: chunks behind a bulkhead (3 at once) and a circuit breaker\n');
const result = await run({ log: (line) => console.log(line) });
console.log(
  `\n${result.recordsImported}/${result.totalRecords} records imported in the end; ` +
    `${result.warehouseCalls} requests to the warehouse, never more than ${result.maxInFlight} at once; ` +
    `breaker ${result.finalState}`,
);
