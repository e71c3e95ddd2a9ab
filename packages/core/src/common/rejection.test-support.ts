/**
 * The error a promise rejects with, for tests that check more of it than `rejects` can. Not a test
 * file itself.
 */
import { expect } from 'vitest';

/** What `pending` rejects with; a resolution fails the test. */
export async function rejectionOf(pending: Promise<unknown>): Promise<unknown> {
  return pending.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}
