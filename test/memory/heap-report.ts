/** What a heap scenario of `memory-child.ts` prints: heapUsed figures (MB) and the store's size at the end. */
export interface HeapReport {
  readonly baselineMB: number;
  readonly peakMB: number;
  readonly afterMB: number;
  readonly deltaMB: number;
  readonly size: number;
}
