import type { EventPublisher } from '@breakwater/core/engine';
import type { CacheEvent, CacheEventType } from './cache-events.js';

/** The fields of a `type` event beyond those every cache event has (kind, type, name, at, key). */
export type CacheEventDetails<K extends CacheEventType> = Omit<
  Extract<CacheEvent, { type: K }>,
  'kind' | 'type' | 'name' | 'at' | 'key'
>;

/**
 * Publishes the `type` event of the cache `name` about `key`, at `at`, when someone listens to that
 * type: the event is built only then.
 */
export function publishCacheEvent<K extends CacheEventType>(
  publisher: EventPublisher<CacheEvent>,
  name: string,
  type: K,
  at: number,
  key: string,
  details: CacheEventDetails<K>,
): void {
  if (!publisher.listensTo(type)) return;
  // The `type` member of the union, with that member's details: TypeScript cannot follow K through the spread.
  publisher.emit({ kind: 'cache', type, name, at, key, ...details } as unknown as CacheEvent);
}
