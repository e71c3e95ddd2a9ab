export {
  type BreakerStatus,
  type ForceResult,
  type ForceTarget,
  forceBreaker,
  readBreaker,
  readBreakers,
  statusOf,
  UnforceableBreakerError,
} from './breakers.js';
export { type BulkheadLease, type BulkheadStatus, bulkheadStatusOf, readBulkhead } from './bulkheads.js';
export { type CliIo, EXIT, main } from './cli.js';
export type { BreakerSettingsView, SettingValue } from './config-view.js';
export { type Connection, redisNow } from './connection.js';
export { USAGE } from './help.js';
export {
  KINDS,
  kindsNamed,
  type PolicyEntry,
  type PolicyStatus,
  readPolicies,
  readPolicy,
  scanKeys,
  scanPolicies,
} from './policies.js';
export { type RateLimiterStatus, rateLimiterStatusOf, readRateLimiter } from './rate-limiters.js';
export { DEFAULT_REDIS_URL, type RedisTarget, redact, redisTarget } from './redis-url.js';
