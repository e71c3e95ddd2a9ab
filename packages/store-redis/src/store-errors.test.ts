import { describe, expect, it } from 'vitest';
import { classifyCallError, isStoreWide, StoreUnavailableError } from './store-errors.js';

const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe('classifyCallError', () => {
  it('a reply error ran nothing and says so; whether it is about Redis as a whole depends on what it says', () => {
    for (const message of [
      'OOM command not allowed when used memory > maxmemory.',
      'LOADING Redis is loading the dataset in memory',
      'BUSY Redis is busy running a script.',
      'MASTERDOWN Link with MASTER is down',
      'READONLY You cannot write against a read only replica.',
      "ERR The user executing the script can't run this command or subcommand script: 1, on @user_script:1.",
      'NOPERM this user has no permissions to access one of the keys used as arguments',
      'ERR Error running script: @user_script:10: -OOM command not allowed when used memory > maxmemory',
    ]) {
      const { error, fate } = classifyCallError(replyError(message));
      expect({ reason: error.reason, fate, storeWide: isStoreWide(error) }).toEqual({
        reason: 'reply',
        fate: 'not-applied',
        storeWide: true,
      });
    }
    for (const message of [
      'ERR user_script:1: Expected value but found invalid token at character 1 script: 2a5, on @user_script:1.',
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      'ERR breakwater: bad operation X',
    ]) {
      const { error } = classifyCallError(replyError(message));
      expect(isStoreWide(error)).toBe(false);
    }
  });

  it('an error raised before the command left the client ran nothing; a dropped connection leaves it unknown', () => {
    // ioredis flushes the commands it had written with this one too when a connection drops
    const flushed = Object.assign(new Error('Reached the max retries per request limit (which is 0).'), {
      name: 'MaxRetriesPerRequestError',
    });
    expect(classifyCallError(flushed).fate).toBe('unknown');
    const lost = classifyCallError(new Error('Connection is closed.'));
    expect({ reason: lost.error.reason, fate: lost.fate, storeWide: isStoreWide(lost.error) }).toEqual({
      reason: 'connection',
      fate: 'unknown',
      storeWide: true,
    });
  });

  it("the store's own errors pass through; a closed store is not Redis's fault", () => {
    const own = new StoreUnavailableError('the store is closed', 'closed');
    expect(classifyCallError(own)).toEqual({ error: own, fate: 'not-applied' });
    expect(isStoreWide(own)).toBe(false);
    expect(isStoreWide(new StoreUnavailableError('Redis did not answer within 100 ms', 'timeout'))).toBe(
      true,
    );
  });
});
