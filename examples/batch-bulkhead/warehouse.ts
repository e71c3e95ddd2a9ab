/** A simulated warehouse API that imports chunks of records, with a scripted outage. */
import { HttpStatusError } from '../http-status-error.js';

export interface Chunk {
  readonly index: number;
  readonly records: readonly string[];
}

export class WarehouseError extends HttpStatusError {
  constructor(status: number) {
    super('warehouse', status);
  }
}

export class FakeWarehouse {
  /** Requests that reached the warehouse. */
  calls = 0;
  /** Most requests in flight at once. */
  maxInFlight = 0;
  /** Records stored, by chunk index. */
  readonly imported = new Map<number, number>();
  /** From the `failFromCall`-th request on (1-based), the warehouse answers 503. */
  failFromCall = Number.POSITIVE_INFINITY;
  private inFlight = 0;

  constructor(private readonly latencyMs: number) {}

  async importChunk(chunk: Chunk, signal: AbortSignal): Promise<number> {
    const call = ++this.calls;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      if (signal.aborted) throw signal.reason;
      if (call >= this.failFromCall) throw new WarehouseError(503);
      this.imported.set(chunk.index, chunk.records.length);
      return chunk.records.length;
    } finally {
      this.inFlight--;
    }
  }

  recover(): void {
    this.failFromCall = Number.POSITIVE_INFINITY;
  }
}
