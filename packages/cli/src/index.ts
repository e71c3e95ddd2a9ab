export { type BreakerScript, loadBreakerScript } from './breaker-script.js';
export {
  type BreakerStatus,
  breakerKey,
  type Connection,
  type ForceResult,
  type ForceTarget,
  forceBreaker,
  KINDS,
  type PolicyEntry,
  parseKey,
  readBreaker,
  readBreakers,
  redisNow,
  scanKeys,
  scanPolicies,
  UnforceableBreakerError,
} from './breakers.js';
export { type CliIo, EXIT, main, USAGE } from './cli.js';
export { DEFAULT_REDIS_URL, type RedisTarget, redact, redisTarget } from './redis-url.js';
