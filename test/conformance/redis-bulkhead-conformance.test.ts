/**
 * The Lua bulkhead against the in-process engine (`LocalBulkheadEngine`, the reference): the same
 * generated sequences of acquire / release / read through two engines sharing a name must grant
 * and refuse the same acquires and count the same slots in use. The clock is the test's
 * (`clock: 'caller'`) and the lease longer than any run: lease expiry is Redis-only behaviour,
 * tested on its own in test/redis.
 */
import {
  BULKHEAD_FULL,
  type BulkheadEngine,
  createBulkheadCell,
  LocalBulkheadEngine,
  resolveBulkheadConfig,
} from '@breakwater/core/engine';
import fc from 'fast-check';
import { describe } from 'vitest';
import { redisForFile } from '../support/redis-suite.js';
import { itHolds, lockstep, startArb } from './lockstep.js';

const redis = redisForFile({
  store: { clock: 'caller', commandTimeout: 5_000, bulkheadLeaseMs: 2_000_000_000 },
});

type Op =
  | { readonly kind: 'acquire' | 'read'; readonly via: number; readonly gap: number }
  | { readonly kind: 'release'; readonly gap: number; readonly pick: number };

const gapArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 }));
const viaArb = fc.nat({ max: 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('acquire' as const), via: viaArb, gap: gapArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('release' as const), gap: gapArb, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), via: viaArb, gap: gapArb }) },
);

let runs = 0;

async function run(max: number, waits: boolean, start: number, ops: readonly Op[]): Promise<void> {
  const name = `bh-conformance-${++runs}`;
  const settings = resolveBulkheadConfig(
    { maxConcurrentCalls: max, maxWaitDuration: waits ? 1_000 : 0 },
    name,
  );
  const cell = createBulkheadCell(start);
  const reference = [0, 1].map(
    () =>
      new LocalBulkheadEngine(
        settings,
        () => {},
        () => cell,
      ),
  );
  const engines: BulkheadEngine[] = [0, 1].map(() => redis.store.bulkhead(name, settings, () => {}));
  /** Slots held: which engine granted them, and its lease token. */
  const held: { via: number; lease: number }[] = [];
  let now = start;
  await lockstep(engines, ops, async (op, { log, check }) => {
    now += op.gap;
    if (op.kind === 'acquire') {
      log(`${now}: acquire via ${op.via}`);
      const expected = reference[op.via].tryAcquire(now) >= 0;
      const lease = await engines[op.via].tryAcquire(now);
      check(lease >= 0, expected, 'granted');
      check(lease >= 0 || lease === BULKHEAD_FULL, true, 'a lease or BULKHEAD_FULL');
      if (lease >= 0) held.push({ via: op.via, lease });
    } else if (op.kind === 'release') {
      if (held.length === 0) return;
      const [slot] = held.splice(op.pick % held.length, 1);
      log(`${now}: release ${slot.lease} via ${slot.via}`);
      reference[slot.via].release(0, now);
      await engines[slot.via].release(slot.lease, now);
    }
    for (const via of [0, 1])
      check(await engines[via].read(now), reference[via].read(now), `in use via ${via}`);
  });
}

describe('bulkhead conformance: RedisStore (Lua) against the in-process engine', () => {
  itHolds(
    'grants, refuses and counts the same as the reference',
    200,
    fc.asyncProperty(
      fc.integer({ min: 0, max: 4 }),
      fc.boolean(),
      startArb,
      fc.array(opArb, { maxLength: 40, size: 'max' }),
      run,
    ),
  );
});
