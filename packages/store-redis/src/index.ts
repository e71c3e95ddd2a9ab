export type { StoreOperation } from './redis-runner.js';
export { RedisStore } from './redis-store.js';
export type { RedisStoreOptions, RedisStoreSettings, StoreFailurePolicy } from './redis-store-options.js';
export { type StoreFailureReason, StoreUnavailableError } from './store-errors.js';
export type {
  FleetStoreFailureMessage,
  FleetTransitionMessage,
  StoreEvent,
  StoreFailureEvent,
  StoreOutcomesDroppedEvent,
  StorePolicyFailureEvent,
  StoreRecoveredEvent,
  StoreStateResetEvent,
} from './store-events.js';
