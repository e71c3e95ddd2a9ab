/**
 * Issue 15's benchmark: `fire` of `@breakwater/opossum` against opossum 10's `fire`, on the same
 * function and the same options (opossum's defaults otherwise: rolling percentiles and snapshots
 * on), with the timeout off and on (3 s, never reached). Target: our added overhead at most 0.5x
 * opossum's, both ways.
 *
 * Also, for the record: our `fire` once `getBreakwater()` has handed out the Breakwater breaker
 * (calls then go through its `execute`, so that its call events see them).
 *
 * Nothing fails or times out; every figure compared is an added overhead over the bare `await fn()`.
 */
import BreakwaterOpossum from '@breakwater/opossum';
import Opossum from 'opossum';
import { type CheckOutcome, defineSuite, overBare, overheadRatio, premise } from './harness.js';

const VALUE = { ok: true };
const succeed = async (_id: number) => VALUE;

const peers: Opossum<[number], typeof VALUE>[] = [];
const ours: BreakwaterOpossum<[number], typeof VALUE>[] = [];

function peer(timeout: number | false) {
  const breaker = new Opossum(succeed, { timeout });
  peers.push(breaker);
  return () => breaker.fire(1);
}

function ourBreaker(timeout: number | false, exposed = false) {
  const breaker = new BreakwaterOpossum(succeed, { timeout });
  if (exposed) breaker.getBreakwater();
  ours.push(breaker);
  return () => breaker.fire(1);
}

async function verify(): Promise<CheckOutcome[]> {
  const wrong: string[] = [];
  for (const b of [...peers, ...ours]) {
    if (!b.closed) wrong.push(`${b.name} is not closed`);
    if (b.stats.failures + b.stats.timeouts + b.stats.rejects > 0) wrong.push(`${b.name} had a failed call`);
    if (b.stats.successes === 0) wrong.push(`${b.name} counted no success`);
  }
  return premise(wrong, `all ${peers.length + ours.length} breakers stayed closed and counted their calls`);
}

export default defineSuite({
  description: "@breakwater/opossum's fire against opossum 10's (issue 15)",
  cases: [
    { id: 'bare', label: 'bare await fn()', setup: () => () => succeed(1) },
    overBare('opossum-off', 'opossum 10 fire, timeout off', () => peer(false)),
    overBare('ours-off', 'ours fire, timeout off', () => ourBreaker(false)),
    overBare('opossum-on', 'opossum 10 fire, timeout 3 s', () => peer(3000)),
    overBare('ours-on', 'ours fire, timeout 3 s', () => ourBreaker(3000)),
    overBare('ours-exposed-off', 'ours fire after getBreakwater(), timeout off', () =>
      ourBreaker(false, true),
    ),
  ],
  ratios: [
    // The targets, both ways: timeout off and on.
    ...(['off', 'on'] as const).map((t) =>
      overheadRatio(`${t}-vs-opossum`, `ours / opossum, timeout ${t}`, `ours-${t}`, `opossum-${t}`, 0.5),
    ),
    overheadRatio(
      'exposed-vs-opossum',
      'ours after getBreakwater() / opossum, timeout off',
      'ours-exposed-off',
      'opossum-off',
    ),
  ],
  verify,
  teardown: () => {
    for (const b of peers) b.shutdown();
    for (const b of ours) b.shutdown();
  },
});
