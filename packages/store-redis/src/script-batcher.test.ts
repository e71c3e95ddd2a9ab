import { describe, expect, it } from 'vitest';
import type { ScriptCallbacks } from './in-flight.js';
import type { RedisRunner } from './redis-runner.js';
import { type BatchPolicy, ScriptBatcher } from './script-batcher.js';
import { StoreUnavailableError } from './store-errors.js';

interface Op {
  readonly now: number;
  readonly id: string;
}

/** A runner that records each script call and lets the test answer it. */
function fakeRunner() {
  const calls: {
    script: string;
    key: string;
    args: readonly (string | number)[];
    callbacks: ScriptCallbacks;
  }[] = [];
  const runner: Pick<RedisRunner, 'run'> = {
    run: (script, key, args, callbacks) => {
      calls.push({ script, key, args, callbacks });
    },
  };
  return { runner, calls };
}

/** A policy that sends the operations' ids and notes what each callback got. */
function notingPolicy(prepare?: (ops: Op[]) => Op[]) {
  const heard: string[] = [];
  const ids = (ops: readonly Op[]) => ops.map((op) => op.id).join(',');
  const policy: BatchPolicy<Op> = {
    ...(prepare === undefined ? {} : { prepare }),
    args: (ops, now) => [now, ...ops.map((op) => op.id)],
    reply: (ops, raw) => heard.push(`reply ${ids(ops)} ${String(raw)}`),
    failed: (ops, error, fate) => heard.push(`failed ${ids(ops)} ${error.reason} ${fate}`),
    lateReply: (ops, raw) => heard.push(`late ${ids(ops)} ${String(raw)}`),
    lateFailed: (ops, error) => heard.push(`lateFailed ${ids(ops)} ${error.reason}`),
  };
  return { policy, heard };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ScriptBatcher', () => {
  it('sends the operations of one turn as one script call, on the Redis clock', async () => {
    const { runner, calls } = fakeRunner();
    const batcher = new ScriptBatcher(runner, 'script', 'key', false, notingPolicy().policy);
    batcher.push({ now: 1, id: 'a' });
    await Promise.resolve();
    batcher.push({ now: 2, id: 'b' }); // a few promise ticks later: the same batch
    expect(calls).toHaveLength(0); // nothing leaves synchronously
    await tick();
    expect(calls.map((c) => [c.script, c.key, c.args])).toEqual([['script', 'key', ['', 'a', 'b']]]);
    batcher.push({ now: 3, id: 'c' });
    await tick();
    expect(calls.map((c) => c.args)).toEqual([
      ['', 'a', 'b'],
      ['', 'c'],
    ]);
  });

  it("under the caller's clock, a batch holds the operations of one instant", async () => {
    const { runner, calls } = fakeRunner();
    const batcher = new ScriptBatcher(runner, 'script', 'key', true, notingPolicy().policy);
    for (const [now, id] of [
      [5, 'a'],
      [5, 'b'],
      [6, 'c'],
      [5, 'd'],
    ] as const)
      batcher.push({ now, id });
    await tick();
    expect(calls.map((c) => c.args)).toEqual([
      ['5', 'a', 'b'],
      ['6', 'c'],
      ['5', 'd'],
    ]);
  });

  it('hands each way the call ends to the policy, with the batch as it was sent', async () => {
    const { runner, calls } = fakeRunner();
    const { policy, heard } = notingPolicy((ops) => [{ now: 0, id: 'first' }, ...ops]);
    const batcher = new ScriptBatcher(runner, 'script', 'key', false, policy);
    batcher.push({ now: 1, id: 'a' });
    await tick();
    const [call] = calls;
    expect(call?.args).toEqual(['', 'first', 'a']);
    const timeout = new StoreUnavailableError('slow', 'timeout');
    call?.callbacks.reply(7);
    call?.callbacks.failed(timeout, 'pending');
    call?.callbacks.lateReply(8);
    call?.callbacks.lateFailed(timeout);
    expect(heard).toEqual([
      'reply first,a 7',
      'failed first,a timeout pending',
      'late first,a 8',
      'lateFailed first,a timeout',
    ]);
  });
});
