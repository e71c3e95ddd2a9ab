/**
 * `@breakwater/store-redis/wire`: the store's format in Redis, for operator tools (the CLI) that
 * read policies' keys or drive a breaker without a RedisStore. What applications use is the main
 * entry, `@breakwater/store-redis`.
 *
 * - keys: `<prefix>:{<kind>:<name>}:<suffix>`, formatted and parsed;
 * - the breaker's stored document: its fields, a tolerant reader, its counts as rates, a time
 *   window's decay at read time;
 * - the breaker's config as the document stores it (`cfg`): its arguments by name, and the
 *   settings they show;
 * - the breaker script and the arguments of a manual transition, so that a tool runs exactly the
 *   state machine the services run.
 */
export {
  BREAKER_CONFIG,
  type BreakerConfigName,
  type BreakerConfigValues,
  describeBreakerConfig,
  packBreakerConfig,
  readStoredConfig,
} from './wire/breaker-config.js';
export {
  COUNT_WINDOW_FIELDS,
  type Counts,
  DOCUMENT_FIELDS,
  numberOr,
  rateOf,
  readBreakerDocument,
  type StoredBreakerDocument,
  type StoredWindow,
  windowCountsAt,
} from './wire/breaker-document.js';
export {
  type BreakerReply,
  forcedTransitionArgs,
  parseBreakerReply,
  type ScriptTransition,
} from './wire/breaker-ops.js';
export {
  breakerKey,
  bulkheadKeys,
  eventsChannel,
  POLICY_KINDS,
  type PolicyKind,
  type PolicyKindTag,
  parsePolicyKey,
  policyKey,
  policyKeyGlob,
  rateLimiterKey,
} from './wire/keys.js';
export {
  BULKHEAD_WAITING_MARK,
  readBulkheadState,
  readRateLimiterState,
  type StoredBulkheadLease,
  type StoredBulkheadState,
  type StoredRateLimiterState,
} from './wire/limit-states.js';
export { BREAKER_SCRIPT, type ScriptDefinition } from './wire/scripts.js';
