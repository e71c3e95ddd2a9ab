import {
  Bulkhead,
  BulkheadFullError,
  CallNotPermittedError,
  type CircuitBreaker,
  Decorators,
} from '@breakwater/core';
import type { Chunk, FakeWarehouse } from './warehouse.js';

/** A chunk that did not go through, kept to be imported later. */
export interface SavedChunk {
  readonly chunk: Chunk;
  /** 'failed': the warehouse refused it; 'rejected': the breaker did not let it through, it was not sent. */
  readonly reason: 'failed' | 'rejected';
  readonly detail: string;
}

export interface BatchSummary {
  readonly chunks: number;
  readonly importedChunks: number;
  readonly importedRecords: number;
  readonly saved: readonly SavedChunk[];
}

/**
 * Imports chunks concurrently, at most `maxConcurrentChunks` at a time: the bulkhead is the
 * concurrency limit, and the others wait in its FIFO queue (maxWaitDuration long enough for the
 * whole batch). A chunk that fails, or that the open breaker refuses, is saved for later and the
 * batch goes on; it never aborts the batch.
 *
 * Here the bulkhead is OUTSIDE the breaker (Bulkhead(CircuitBreaker(fn))), unlike the recommended
 * request order: a queued chunk asks the breaker only when its turn comes, so once the breaker opens
 * every chunk still queued is set aside at once instead of having been admitted while it was closed.
 */
export class BatchImporter {
  private readonly importChunk: (chunk: Chunk) => Promise<number>;

  constructor(warehouse: FakeWarehouse, breaker: CircuitBreaker, maxConcurrentChunks: number) {
    const bulkhead = Bulkhead.of('warehouse-import', {
      maxConcurrentCalls: maxConcurrentChunks,
      maxWaitDuration: 60_000,
    });
    this.importChunk = Decorators.ofFunctionWithSignal((signal, chunk: Chunk) =>
      warehouse.importChunk(chunk, signal),
    )
      .withCircuitBreaker(breaker)
      .withBulkhead(bulkhead)
      .decorate();
  }

  async run(chunks: readonly Chunk[], onChunk: (line: string) => void = () => {}): Promise<BatchSummary> {
    const saved: SavedChunk[] = [];
    let importedChunks = 0;
    let importedRecords = 0;
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          const records = await this.importChunk(chunk);
          importedRecords += records;
          importedChunks++;
          onChunk(`    chunk ${chunk.index}: imported ${chunk.records.length} records`);
        } catch (error) {
          if (error instanceof BulkheadFullError) throw error; // cannot happen with this queue; a bug if it does
          const detail = error instanceof Error ? error.message : String(error);
          if (error instanceof CallNotPermittedError) {
            saved.push({ chunk, reason: 'rejected', detail });
            onChunk(`    chunk ${chunk.index}: not sent (breaker ${error.state}), saved for later`);
          } else {
            saved.push({ chunk, reason: 'failed', detail });
            onChunk(`    chunk ${chunk.index}: failed (${detail}), saved for later`);
          }
        }
      }),
    );
    saved.sort((a, b) => a.chunk.index - b.chunk.index);
    return { chunks: chunks.length, importedChunks, importedRecords, saved };
  }
}

/** `records` cut into chunks of `size`. */
export function chunksOf(records: readonly string[], size: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (let i = 0; i < records.length; i += size) {
    chunks.push({ index: chunks.length, records: records.slice(i, i + size) });
  }
  return chunks;
}
