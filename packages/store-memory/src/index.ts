export { MemoryStore } from './memory-store.js';
export {
  MEMORY_STORE_DEFAULTS,
  type MemoryStoreOptions,
  type MemoryStoreSettings,
} from './memory-store-options.js';
export type { MemoryStoreSnapshot, RestoreReport } from './memory-store-snapshot.js';
