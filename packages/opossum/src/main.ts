/**
 * The runtime entry: everything `index.ts` exports, and the class as `module.exports`, so that
 * `require('@breakwater/opossum')` returns the class itself, as `require('opossum')` does (Node's
 * require() of an ES module, from 20.19 and 22.12, returns this export when there is one). The
 * types come from `index.ts` alone: the export named by a string needs TypeScript 5.6 to be read.
 */
import { CircuitBreaker } from './circuit-breaker.js';

export * from './index.js';
export { default } from './index.js';
export { CircuitBreaker as 'module.exports' };
