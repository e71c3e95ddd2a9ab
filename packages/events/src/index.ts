export {
  ALERTS_DEFAULTS,
  type Alert,
  type AlertsOptions,
  alerts,
  CACHE_ALERT_EVENTS,
  type CacheAlertEvent,
  type CacheErrorAlert,
  type CircuitOpenAlert,
  MAX_SUPPRESSED_KEYS,
  type StoreFailureAlert,
  type SuppressedAlert,
  toAlert,
} from './alerts.js';
export { type EventsOf, eventsOf, fleetTransitionEvents } from './events-of.js';
export { describeTransition } from './format.js';
export {
  type LogLevel,
  type TransitionLogEntry,
  type TransitionLogger,
  toLog,
  transitionLogEntry,
} from './log.js';
export { ofKind, ofType, type TransitionOf, transitions } from './operators.js';
export { RECENT_EVENTS_DEFAULT_CAPACITY, type RecentEvents, recentEvents } from './recent-events.js';
export type * from './types.js';
export {
  slackBody,
  toWebhook,
  WEBHOOK_DEFAULTS,
  WebhookError,
  type WebhookFetch,
  type WebhookOptions,
  WebhookTimeoutError,
} from './webhook.js';
