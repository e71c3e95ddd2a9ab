/**
 * The story: 60 records in 12 chunks of 5, at most 3 chunks in flight. The warehouse starts failing
 * at its 5th request; the breaker opens after enough failures and the rest of the batch is set
 * aside without being sent. Later, the saved chunks are tried again, pass after pass: after the
 * breaker's open wait (on a ManualClock) it lets 2 probe chunks through and refuses the rest of that
 * pass; the probes succeed, it closes, and the next pass imports everything left. Chunks take ~10 ms.
 */
import { CircuitBreaker, type CircuitBreakerStateName, ManualClock } from '@breakwater/core';
import type { ScenarioOptions } from '../scenario-options.js';
import { BatchImporter, type BatchSummary, chunksOf } from './batch.js';
import { FakeWarehouse } from './warehouse.js';

export interface ScenarioResult {
  /** Every pass: the whole batch, then the chunks saved by the pass before. */
  readonly passes: readonly BatchSummary[];
  /** Requests that reached the warehouse during the first pass. */
  readonly firstPassCalls: number;
  /** Records in the warehouse at the end. */
  readonly recordsImported: number;
  readonly totalRecords: number;
  readonly maxInFlight: number;
  /** Requests that reached the warehouse. */
  readonly warehouseCalls: number;
  readonly transitions: readonly string[];
  readonly finalState: CircuitBreakerStateName;
}

export interface RunOptions extends ScenarioOptions {
  readonly chunkLatencyMs?: number;
}

export async function run(options: RunOptions = {}): Promise<ScenarioResult> {
  const log = options.log ?? (() => {});
  const clock = new ManualClock(Date.UTC(2024, 0, 1, 3));
  const warehouse = new FakeWarehouse(options.chunkLatencyMs ?? 10);
  warehouse.failFromCall = 5;
  const breaker = CircuitBreaker.of(
    'warehouse',
    {
      slidingWindowType: 'COUNT_BASED',
      slidingWindowSize: 6,
      minimumNumberOfCalls: 6,
      failureRateThreshold: 50,
      waitDurationInOpenState: 60_000,
      permittedNumberOfCallsInHalfOpenState: 2,
    },
    { clock },
  );
  const transitions: string[] = [];
  breaker.on('STATE_TRANSITION', (e) => {
    transitions.push(`${e.from} -> ${e.to}`);
    log(`    [breaker warehouse: ${e.from} -> ${e.to}]`);
  });
  const importer = new BatchImporter(warehouse, breaker, 3);

  const records = Array.from({ length: 60 }, (_, i) => `record-${i}`);
  const chunks = chunksOf(records, 5);

  log(
    `-- pass 1: ${chunks.length} chunks of 5 records, at most 3 at once; the warehouse fails from its 5th request`,
  );
  const passes = [await importer.run(chunks, log)];
  log(summary(passes[0]));
  const firstPassCalls = warehouse.calls;

  warehouse.recover();
  log('-- later: the warehouse is back; the saved chunks are tried again');
  while (passes.at(-1)!.saved.length > 0 && passes.length < 5) {
    if ((await breaker.getState()) === 'OPEN') {
      log('   (waiting out the open breaker: 60 s on the simulated clock, no real wait)');
      clock.advance(60_000);
    }
    log(`-- pass ${passes.length + 1}: ${passes.at(-1)!.saved.length} saved chunks`);
    const pass = await importer.run(
      passes.at(-1)!.saved.map((s) => s.chunk),
      log,
    );
    passes.push(pass);
    log(summary(pass));
  }

  const recordsImported = [...warehouse.imported.values()].reduce((a, b) => a + b, 0);
  const finalState = await breaker.getState();
  breaker.close();
  return {
    passes,
    firstPassCalls,
    recordsImported,
    totalRecords: records.length,
    maxInFlight: warehouse.maxInFlight,
    warehouseCalls: warehouse.calls,
    transitions,
    finalState,
  };
}

function summary(s: BatchSummary): string {
  const failed = s.saved.filter((x) => x.reason === 'failed').map((x) => x.chunk.index);
  const rejected = s.saved.filter((x) => x.reason === 'rejected').map((x) => x.chunk.index);
  return (
    `   summary: ${s.importedChunks}/${s.chunks} chunks imported (${s.importedRecords} records); ` +
    `saved for later: ${failed.length} failed [${failed.join(', ')}], ` +
    `${rejected.length} not let through by the breaker [${rejected.join(', ')}]`
  );
}
