/**
 * Every outcome a caller saw is either in the shared window or counted as dropped. Ledger breakers
 * never transition (a TIME_BASED window longer than the run, thresholds out of reach), so their
 * shared window ends up holding every outcome recorded in Redis. With `observed` the outcomes the
 * callers saw (all workers) and `dropped` the sum of the store's OUTCOMES_DROPPED counts:
 * - buffered <= observed: no outcome counted twice (a record replayed after a timeout, say);
 * - buffered >= observed - dropped: no outcome lost without being counted.
 */
import type { History, Violation } from './history.js';

export function checkOutcomes(history: History): Violation[] {
  const violations: Violation[] = [];
  for (const { name } of history.policies.ledgerBreakers) {
    const counts = history.ledger.filter((c) => c.name === name);
    const observed = counts.reduce((sum, c) => sum + c.observed, 0);
    const dropped = counts.reduce((sum, c) => sum + c.dropped, 0);
    const read = history.buffered.find((b) => b.name === name);
    const perWorker = counts
      .map((c) => `worker ${c.worker}: ${c.observed} seen, ${c.dropped} dropped`)
      .join('; ');
    if (read === undefined) {
      violations.push({
        invariant: 'outcomes-accounted',
        policy: name,
        message: 'the shared window was not read',
      });
      continue;
    }
    const { buffered } = read;
    if (buffered > observed) {
      violations.push({
        invariant: 'outcomes-accounted',
        policy: name,
        message: `the shared window holds ${buffered} outcomes but callers saw only ${observed}: ${buffered - observed} counted twice (${perWorker})`,
      });
    }
    if (buffered < observed - dropped) {
      violations.push({
        invariant: 'outcomes-accounted',
        policy: name,
        message:
          `callers saw ${observed} outcomes, the shared window holds ${buffered} and ${dropped} were reported dropped: ` +
          `${observed - dropped - buffered} lost without a count (${perWorker})`,
      });
    }
  }
  return violations;
}
