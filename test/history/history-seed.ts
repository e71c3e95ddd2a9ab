import { randomSeed } from './seeded-random.js';

/**
 * The seed of the fleet runs: `HISTORY_SEED` replays a run (run vitest directly, as the failure
 * message says: turbo passes no undeclared variable through); otherwise a fresh one, printed in
 * every failure message.
 */
/** Read dynamically: this test-only variable is no input of any turbo task. */
const SEED_VARIABLE = 'HISTORY_SEED';

export function historySeed(): number {
  const asked = process.env[SEED_VARIABLE];
  if (asked === undefined || asked === '') return randomSeed();
  const seed = Number(asked);
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`HISTORY_SEED must be a non-negative integer, got ${asked}`);
  return seed;
}
