import { hostname } from 'node:os';
import type { CircuitBreakerStateName, TransitionReason, Unsubscribe } from '@breakwater/core';
import { rateOfCounts, type WindowCounts } from '@breakwater/core/engine';
import { Observable } from 'rxjs';
import type {
  EventShape,
  EventSource,
  FleetEvent,
  FleetSource,
  FleetStateTransitionEvent,
  FleetStoreFailureMessageLike,
  FleetTransitionMessageLike,
} from './types.js';

/**
 * The events of `source` as an Observable:
 *
 * - a policy (`CircuitBreaker`, `Retry`, `RateLimiter`, `TimeLimiter`, `Bulkhead`): its events;
 * - a registry: the events of all its policies, including those created after subscribing;
 * - a `RedisStore` (anything with `onFleetTransition`): the state transitions of every process
 *   sharing that Redis (pub/sub on `<prefix>:events`, each with the `origin` process), plus the
 *   store's own events (STORE_FAILURE, STORE_RECOVERED, POLICY_FAILURE, OUTCOMES_DROPPED, STATE_RESET)
 *   stamped with this process's id.
 *
 * Nothing is listened to until someone subscribes; each subscription adds its own listeners and
 * unsubscribing removes them all (for Redis, the store closes its pub/sub connection when the last
 * listener leaves). Events are delivered synchronously, as the policy publishes them.
 */
export function eventsOf<S extends EventSource<EventShape>>(source: S): Observable<EventsOf<S>>;
export function eventsOf(source: EventSource<EventShape> | FleetSource<EventShape>): Observable<EventShape> {
  if (!isEventSource(source)) {
    throw new TypeError(
      `eventsOf: expected a policy, a registry or a RedisStore (something with onEvent), got ${describe(source)}`,
    );
  }
  if (isFleetSource(source)) return fleetEvents(source);
  return new Observable<EventShape>((subscriber) => source.onEvent((event) => subscriber.next(event)));
}

/**
 * What `eventsOf(source)` emits. One signature with a conditional type rather than overloads:
 * TypeScript resolves overloads by subtype first, and a RedisStore is a subtype of a plain event
 * source but only assignable to a fleet source, so an overload would have typed its stream
 * without the fleet-wide transitions it carries.
 */
export type EventsOf<S> =
  S extends FleetSource<infer SE> ? FleetEvent<SE> : S extends EventSource<infer E> ? E : never;

type FleetStoreFailureSource = (listener: (message: FleetStoreFailureMessageLike) => void) => Unsubscribe;

function fleetEvents(store: FleetSource<EventShape>): Observable<FleetEvent<EventShape>> {
  return new Observable<FleetEvent<EventShape>>((subscriber) => {
    const origin = store.options?.processId ?? `${hostname()}:${process.pid}`;
    const offs: Unsubscribe[] = [];
    offs.push(store.onEvent((event) => subscriber.next({ ...event, origin })));
    offs.push(
      store.onFleetTransition((message) => {
        for (const event of fleetTransitionEvents(message)) {
          if (subscriber.closed) return;
          subscriber.next(event);
        }
      }),
    );
    const outages = (store as { onFleetStoreFailure?: FleetStoreFailureSource }).onFleetStoreFailure;
    if (typeof outages === 'function') {
      // Other processes' outages, published once they are over. Our own came live through onEvent.
      offs.push(
        outages.call(store, (message) => {
          if (message.origin === origin || subscriber.closed) return;
          subscriber.next({ ...message } as unknown as FleetEvent<EventShape>);
        }),
      );
    }
    return () => {
      for (const off of offs) off();
    };
  });
}

const STATE_NAMES: ReadonlySet<string> = new Set<CircuitBreakerStateName>([
  'CLOSED',
  'OPEN',
  'HALF_OPEN',
  'DISABLED',
  'FORCED_OPEN',
  'METRICS_ONLY',
]);

/**
 * The STATE_TRANSITION events of one fleet message. Anyone can publish on the channel: a message
 * that is not shaped like a transition is skipped rather than passed on.
 */
export function fleetTransitionEvents(message: FleetTransitionMessageLike): FleetStateTransitionEvent[] {
  if (typeof message !== 'object' || message === null) return [];
  const { name, origin, transitions } = message;
  if (typeof name !== 'string' || !Array.isArray(transitions)) return [];
  const events: FleetStateTransitionEvent[] = [];
  for (const t of transitions as readonly unknown[]) {
    if (typeof t !== 'object' || t === null) continue;
    const { from, to, at, reason, until, counts, ...rates } = t as Record<string, unknown>;
    if (!STATE_NAMES.has(from as string) || !STATE_NAMES.has(to as string)) continue;
    const c = countsOf(counts);
    const failureRate = rates.failureRate ?? (c === undefined ? -1 : rateOfCounts(c[1], c));
    const slowCallRate = rates.slowCallRate ?? (c === undefined ? -1 : rateOfCounts(c[2], c));
    events.push({
      kind: 'circuitbreaker',
      type: 'STATE_TRANSITION',
      name,
      at: finiteOr(at, Date.now()),
      from: from as CircuitBreakerStateName,
      to: to as CircuitBreakerStateName,
      reason: (typeof reason === 'string' ? reason : 'MANUAL') as TransitionReason,
      failureRate: finiteOr(failureRate, -1),
      slowCallRate: finiteOr(slowCallRate, -1),
      origin: typeof origin === 'string' ? origin : 'unknown',
      until: finiteOr(until, 0),
    });
  }
  return events;
}

function countsOf(value: unknown): WindowCounts | undefined {
  if (!Array.isArray(value) || value.length < 5) return undefined;
  const counts: unknown[] = value;
  return counts.every((n) => typeof n === 'number' && Number.isFinite(n))
    ? (counts as unknown as WindowCounts)
    : undefined;
}

function finiteOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function isEventSource(source: unknown): source is EventSource<EventShape> {
  return (
    typeof source === 'object' &&
    source !== null &&
    typeof (source as { onEvent?: unknown }).onEvent === 'function'
  );
}

function isFleetSource(source: EventSource<EventShape>): source is FleetSource<EventShape> {
  return typeof (source as { onFleetTransition?: unknown }).onFleetTransition === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return typeof value;
}
