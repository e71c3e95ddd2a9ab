import { describe, expect, it } from 'vitest';
import { type BatchedOp, PerOpBatch } from './per-op-batch.js';
import { type CallFate, StoreUnavailableError } from './store-errors.js';

/** An operation that notes how it settled. */
function noted(args: (string | number)[], heard: string[], late = true): BatchedOp {
  const name = args.join(' ');
  return {
    now: 0,
    args,
    done: (result) => heard.push(`${name}: done ${result}`),
    failed: (fate: CallFate) => heard.push(`${name}: failed ${fate}`),
    ...(late ? { late: (result: number | undefined) => heard.push(`${name}: late ${String(result)}`) } : {}),
  };
}

function batch() {
  const heads: unknown[][] = [];
  const policyFailures: string[] = [];
  const policy = new PerOpBatch({
    head: ['G', 10, 1000, ''],
    replyHead: 1,
    onReplyHead: (head) => heads.push([...head]),
    onPolicyFailure: (error) => policyFailures.push(error.message),
  });
  return { policy, heads, policyFailures };
}

describe('PerOpBatch', () => {
  it('sends now, the head, then each operation’s arguments', () => {
    const { policy } = batch();
    const heard: string[] = [];
    expect(policy.args([noted(['A', 1, 0], heard), noted(['G', 0, 0], heard)], '')).toEqual([
      '',
      'G',
      10,
      1000,
      '',
      'A',
      1,
      0,
      'G',
      0,
      0,
    ]);
  });

  it('gives each operation its slot of the reply, after the reply head', () => {
    const { policy, heads } = batch();
    const heard: string[] = [];
    policy.reply([noted(['A'], heard), noted(['G'], heard)], ['', 0, '7']);
    expect(heads).toEqual([['']]);
    expect(heard).toEqual(['A: done 0', 'G: done 7']);
  });

  it('a reply of the wrong shape fails the batch; a slot that is not a number fails its operation as applied', () => {
    const { policy } = batch();
    const heard: string[] = [];
    expect(() => policy.reply([noted(['A'], heard)], ['', 1, 2])).toThrow(/wrong shape/);
    expect(() => policy.reply([noted(['A'], heard)], 'OK')).toThrow(/wrong shape/);
    policy.reply([noted(['A'], heard)], ['', 'x']);
    expect(heard).toEqual(['A: failed applied']);
  });

  it('a failure reaches every operation; only a policy’s own error is reported as such', () => {
    const { policy, policyFailures } = batch();
    const heard: string[] = [];
    const ops = [noted(['A'], heard), noted(['L'], heard)];
    policy.failed(ops, new StoreUnavailableError('down', 'connection'), 'unknown');
    policy.failed(ops, new StoreUnavailableError('closed', 'closed'), 'not-applied');
    const wrongType = new StoreUnavailableError(
      'WRONGTYPE',
      'reply',
      Object.assign(new Error('WRONGTYPE'), { name: 'ReplyError' }),
    );
    policy.failed(ops, wrongType, 'not-applied');
    expect(heard).toEqual([
      'A: failed unknown',
      'L: failed unknown',
      'A: failed not-applied',
      'L: failed not-applied',
      'A: failed not-applied',
      'L: failed not-applied',
    ]);
    expect(policyFailures).toEqual(['WRONGTYPE']);
  });

  it('late answers reach the operations that wait for them: their slot, or undefined', () => {
    const { policy } = batch();
    const heard: string[] = [];
    const ops = [noted(['A'], heard), noted(['G'], heard, false)];
    policy.lateReply(ops, ['', 1, 3]);
    policy.lateReply(ops, 'garbage');
    policy.lateFailed(ops);
    expect(heard).toEqual(['A: late 1', 'A: late undefined', 'A: late undefined']);
  });

  it('a late answer comes with its reply head (what the engines read it by)', () => {
    const { policy, heads } = batch();
    const got: unknown[] = [];
    const op: BatchedOp = { ...noted(['A'], []), late: (result, head) => got.push(result, head) };
    policy.lateReply([op], ['why', 7]);
    policy.lateReply([op], 'garbage');
    expect(got).toEqual([7, ['why'], undefined, undefined]);
    expect(heads).toEqual([['why']]);
  });

  it('a throwing operation does not keep the others from settling', () => {
    const { policy } = batch();
    const heard: string[] = [];
    const throwing: BatchedOp = {
      now: 0,
      args: ['A'],
      done: () => {
        throw new Error('boom');
      },
      failed: () => {},
    };
    policy.reply([throwing, noted(['G'], heard)], ['', 1, 2]);
    expect(heard).toEqual(['G: done 2']);
  });
});
