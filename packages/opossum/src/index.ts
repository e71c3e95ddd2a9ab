/**
 * `@breakwater/opossum`: opossum's `CircuitBreaker` on Breakwater's engine. Change the import, keep
 * the code; pass a Breakwater `store` to share the breaker across processes.
 *
 * ```ts
 * import CircuitBreaker from '@breakwater/opossum'; // or: const CircuitBreaker = require('@breakwater/opossum')
 * const breaker = new CircuitBreaker(callRemote, { timeout: 3000, errorThresholdPercentage: 50, resetTimeout: 30000 });
 * ```
 *
 * The types of @types/opossum are here under the same names (`CircuitBreaker.Options`,
 * `CircuitBreaker.Stats`, ...), so that code typed against it compiles unchanged.
 */
import { CircuitBreaker } from './circuit-breaker.js';

export default CircuitBreaker;
export { OpossumError, type OpossumErrorCode } from './errors.js';
export { type CacheTransport, MemoryCache } from './memory-cache.js';
export type { BreakwaterOverrides, CoalesceResetOn, Options, State } from './options.js';
export { type Bucket, type Stats, Status, type StatusOptions, type Window } from './status.js';
export { CircuitBreaker };
