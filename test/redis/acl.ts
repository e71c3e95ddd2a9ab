/**
 * Restricted Redis users for the ACL tests (redis-store.test.ts, limits.test.ts): the commands a
 * breaker needs, and a user made with exactly some commands.
 */
import type { Redis } from 'ioredis';
import type { RedisForFile } from '../support/redis-suite.js';

/**
 * The least a Redis user needs for breakers: the scripts (EVALSHA, and EVAL once after NOSCRIPT),
 * the commands the script runs (TIME, GET, SET, PEXPIRE when a full window of successes only needs
 * its expiry renewed, and DEL + TYPE to clear garbage, PUBLISH), SUBSCRIBE for fleet events, INFO
 * for ioredis' ready check, QUIT for close().
 */
export const BREAKER_COMMANDS: readonly string[] = [
  'evalsha',
  'eval',
  'time',
  'get',
  'set',
  'pexpire',
  'del',
  'type',
  'publish',
  'subscribe',
  'info',
  'quit',
];

/**
 * Makes `user` on `redis`'s server: `password`, keys under `breakwater:`, the channels `channels`
 * matches and no command but `commands`; the ACL log starts empty. Returns a maker of its clients.
 */
export async function restrictedUser(
  redis: Pick<RedisForFile, 'server' | 'client'>,
  user: string,
  password: string,
  channels: string,
  commands: readonly string[],
): Promise<() => Redis> {
  const rules = [
    'on',
    `>${password}`,
    'resetkeys',
    '~breakwater:*',
    'resetchannels',
    `&${channels}`,
    '-@all',
  ];
  await redis.client.call('ACL', 'SETUSER', user, ...rules, ...commands.map((c) => `+${c}`));
  await redis.client.call('ACL', 'LOG', 'RESET');
  return () => redis.server.client({ username: user, password });
}
