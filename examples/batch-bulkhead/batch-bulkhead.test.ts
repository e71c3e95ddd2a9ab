import { describe, expect, it } from 'vitest';
import { itSaysSkippedTimeIsSimulated } from '../scenario.test-support.js';
import { run } from './scenario.js';

describe('batch-bulkhead example', () => {
  itSaysSkippedTimeIsSimulated(run, '60 s on the simulated clock');

  it('saves failed and rejected chunks instead of aborting, and imports them all in later passes', async () => {
    const r = await run();
    const [first, ...later] = r.passes;

    // The bulkhead kept at most 3 chunks in flight.
    expect(r.maxInFlight).toBe(3);
    // Pass 1 went through every chunk: imported or saved, none lost, the batch not aborted.
    expect(first.chunks).toBe(12);
    expect(first.importedChunks + first.saved.length).toBe(12);
    // The warehouse fails from its 5th request: chunks 0-3 are in.
    expect(first.importedChunks).toBe(4);
    expect(first.importedRecords).toBe(20);
    const failed = first.saved.filter((s) => s.reason === 'failed');
    const rejected = first.saved.filter((s) => s.reason === 'rejected');
    // 3 failures in the window of 6 open the breaker; the rest of the batch is not sent.
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(rejected.length).toBeGreaterThan(0);
    expect(failed[0].detail).toBe('warehouse answered 503');
    expect(rejected[0].detail).toMatch(/CircuitBreaker 'warehouse' is OPEN/);
    // Queued chunks ask the breaker when their turn comes: a rejected chunk was never sent.
    expect(r.firstPassCalls).toBe(4 + failed.length);

    // Pass 2: the breaker lets its 2 half-open probes through and refuses the rest; pass 3 takes the rest.
    expect(later.map((p) => p.importedChunks)).toEqual([2, first.saved.length - 2]);
    expect(later[0].saved.every((s) => s.reason === 'rejected' && s.detail.includes('HALF_OPEN'))).toBe(true);
    expect(later[1].saved).toEqual([]);
    expect(r.recordsImported).toBe(r.totalRecords);
    expect(r.transitions).toEqual(['CLOSED -> OPEN', 'OPEN -> HALF_OPEN', 'HALF_OPEN -> CLOSED']);
    expect(r.finalState).toBe('CLOSED');
  });
});
