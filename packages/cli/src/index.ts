export {
  type BreakerStatus,
  type Connection,
  type ForceResult,
  type ForceTarget,
  forceBreaker,
  type PolicyEntry,
  readBreaker,
  readBreakers,
  redisNow,
  scanKeys,
  scanPolicies,
  statusOf,
  UnforceableBreakerError,
} from './breakers.js';
export { type CliIo, EXIT, main } from './cli.js';
export { USAGE } from './help.js';
export { DEFAULT_REDIS_URL, type RedisTarget, redact, redisTarget } from './redis-url.js';
