/**
 * The breaker's stored document: the script's fast path (acquires and success records on a CLOSED
 * count window, read and rewritten with string operations), the one key order it relies on, both
 * directions of a rolling deploy from the previous version (which wrote cjson's key order and kept
 * the origin in `cfg`), documents spoiled in ways only the fast path would see (and a spoiled rest of
 * a full window of successes, which the fast path only reads), and windows resized
 * by processes of different configs while the fast path runs.
 */
import { BREAKER_SCRIPT, breakerKey } from '@breakwater/store-redis/wire';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ScriptCall, scriptCommand } from '../support/redis-suite.js';
import { BREAKER_LUA_V0 } from './fixtures/breaker-script-v0.js';
import { captureStoreEvents, DownstreamError, redisSuite } from './helpers.js';

const redis = redisSuite();
const { breaker } = redis;
let current: ScriptCall;
let v0: ScriptCall;

beforeAll(() => {
  current = scriptCommand(redis.client, 'bwCurrent', BREAKER_SCRIPT.lua);
  v0 = scriptCommand(redis.client, 'bwV0', BREAKER_LUA_V0);
});

const store = (processId = 'proc-new') => redis.store({ processId });

const ok = () => 'ok';

/** A breaker (window 4, minimum 2) on a fresh store after `successes` calls, and its stored document. */
async function afterSuccesses(name: string, successes: number) {
  const s = store();
  const captured = captureStoreEvents(s);
  const cb = breaker(name, { slidingWindowSize: 4, minimumNumberOfCalls: 2 }, s);
  for (let i = 0; i < successes; i++) await cb.execute(ok);
  await cb.getState(); // the last outcome rides with an operation: let it land
  return { cb, captured, doc: (await redis.client.get(keyOf(name)))! };
}

/** The store reset the document once, for `reason`, and callers saw no failure. */
function expectOneReset(captured: ReturnType<typeof captureStoreEvents>, reason: RegExp): void {
  const resets = captured.events.filter((e) => e.type === 'STATE_RESET');
  expect(resets).toHaveLength(1);
  expect((resets[0] as { reason: string }).reason).toMatch(reason);
  expect(captured.types()).not.toContain('STORE_FAILURE');
}
const fail = () => Promise.reject(new DownstreamError('down'));
const keyOf = (name: string) => breakerKey('breakwater', name);

/** The config arguments as RedisStore sends them for `{ slidingWindowSize: size, minimumNumberOfCalls: min }`. */
function configArgs(name: string, size: number, min: number, failureRate = 50): string[] {
  return [
    '86400000',
    'COUNT',
    String(size),
    String(min),
    '10',
    String(failureRate),
    '100',
    '10',
    '0',
    'OPEN',
    '0',
    '0',
    '0',
    'rate',
    '10',
    '60000',
    'breakwater:events',
    name,
    'proc-old',
    '60000',
  ];
}

/**
 * The packed layout RedisStore sends: the config joined by newlines (origin empty) as a JSON string,
 * the origin, then the operations in one string (e.g. `R0,0,0 A`: a success of generation 0, an
 * acquire).
 */
function packed(name: string, size: number, min: number, failureRate = 50): string[] {
  const cfg = configArgs(name, size, min, failureRate);
  cfg[18] = '';
  return [JSON.stringify(cfg.join('\n')), 'proc-direct'];
}

/** The machine answers with JSON; the fast path with the generation alone (an integer). */
async function runScript(key: string, args: string[]): Promise<Reply | number> {
  const raw = (await current(key, ...args)) as string | number;
  return typeof raw === 'number' ? raw : (JSON.parse(raw) as Reply);
}
const FAST = expect.any(Number);
const MACHINE = expect.objectContaining({ now: expect.any(Number) });

interface Reply {
  r: unknown[];
  now?: number;
  g?: string;
  v?: { state: string; counts: number[] };
}

describe('the fast path', () => {
  it('answers acquires and success records without the machine, and writes the document the machine writes', async () => {
    const key = keyOf('fast-direct');
    const run = (ops: string) => runScript(key, ['', ...packed('fast-direct', 4, 3), ops]);
    // the first record creates the document (the machine: there is nothing to read yet)
    expect(await run('R-1,0,1')).toEqual(MACHINE);
    expect(
      (await redis.client.get(key))!.startsWith(
        '{"v":1,"state":"CLOSED","generation":0,"consecutiveFailures":1,"window":{"type":"COUNT","size":4,"calls":1,',
      ),
    ).toBe(true);
    // a success below the minimum (3): the fast path (it answers with the generation)
    expect(await run('R-1,0,0')).toBe(0);
    // the success that reaches the minimum is evaluated: the machine
    expect(await run('R-1,0,0')).toEqual(MACHINE);
    // acquires and successes in one batch; the window (4) fills and wraps: the failure drops out
    const fast = await run('R0,0,0 A R-1,0,0 A');
    expect(fast).toBe(0);
    const doc = JSON.parse((await redis.client.get(key))!);
    expect(doc).toMatchObject({
      v: 1,
      state: 'CLOSED',
      consecutiveFailures: 0,
      window: { type: 'COUNT', size: 4, calls: 4, failures: 0, head: 1, ring: '0000', minimumCalls: 3 },
      leases: {},
    });
    expect(doc.cfg.split('\n')).toHaveLength(20);
    expect(doc.cfg.split('\n')[18]).toBe(''); // the origin is not stored: every process writes the same cfg
    expect(await redis.client.pttl(key)).toBeGreaterThan(86_000_000);
    expect(doc.cfg).toBe(JSON.parse(packed('fast-direct', 4, 3)[0])); // as sent, byte for byte
    // the machine reads what the fast path wrote and agrees
    const view = JSON.parse(await current(key, '', ...packed('fast-direct', 4, 3), 'G')) as Reply;
    expect(view.g).toBeUndefined();
    expect(view.v).toMatchObject({ state: 'CLOSED', counts: [4, 0, 0, 0, 3] });
    // and the machine, reading with nothing to change, leaves the fast path's document as it is
    expect(await redis.client.get(key)).toBe(JSON.stringify(doc));
  });

  it('a full window of successes is left as it is: the batch only reads, or renews the expiry when asked (E)', async () => {
    const key = keyOf('fast-steady');
    const run = (ops: string) => runScript(key, ['', ...packed('fast-steady', 3, 1), ops]);
    for (let i = 0; i < 4; i++) await run('R-1,0,0');
    const full = (await redis.client.get(key))!;
    expect(JSON.parse(full)).toMatchObject({ consecutiveFailures: 0, window: { calls: 3, ring: '000' } });
    await redis.client.pexpire(key, 5_000);
    // a batch marked + (only acquires and successes) is answered without reading its operations
    expect(await run('+R0,0,0 A R-1,0,0')).toBe(0);
    expect(await redis.client.get(key)).toBe(full);
    expect(await redis.client.pttl(key)).toBeLessThanOrEqual(5_000); // nothing written
    expect(await run('+R0,0,0 A E')).toBe(0);
    expect(await redis.client.get(key)).toBe(full);
    expect(await redis.client.pttl(key)).toBeGreaterThan(86_000_000); // renewed
    // a success of another generation leaves it as it is too (the machine would ignore it)
    expect(await run('+R7,0,0 A R-1,12,0')).toBe(0);
    expect(await redis.client.get(key)).toBe(full);
    // unmarked, the same batch goes to the machine, which rewrites the same state
    expect(await run('R0,0,0 A')).toEqual(MACHINE);
    expect(JSON.parse((await redis.client.get(key))!)).toEqual(JSON.parse(full));
    // a slow or failed call, a release, a read: the machine
    for (const ops of ['R0,0,2', 'R0,0,1 A', 'A L0,0', 'G', 'R0,10,3 A']) {
      await redis.client.set(key, full);
      expect(await run(ops)).toEqual(MACHINE);
    }
    await redis.client.set(key, full);
    // a failure after it lands where the machine expects it, and is counted
    expect(await run('R-1,0,1')).toEqual(MACHINE);
    expect(await run('G')).toMatchObject({ v: { state: 'CLOSED', counts: [3, 1, 0, 0, 1] } });
  });

  it('the machine renews the expiry when asked (E) even when it writes nothing', async () => {
    const key = keyOf('machine-renew');
    const run = (ops: string) => runScript(key, ['', ...packed('machine-renew', 3, 1), ops]);
    await run('R-1,0,1');
    await redis.client.pexpire(key, 5_000);
    const before = await redis.client.get(key);
    expect(await run('R7,0,0')).toMatchObject({ r: [0] }); // a stale permit: nothing to write
    expect(await redis.client.pttl(key)).toBeLessThanOrEqual(5_000);
    expect(await run('R7,0,0 E')).toMatchObject({ r: [0] }); // E adds no result of its own
    expect(await redis.client.pttl(key)).toBeGreaterThan(86_000_000);
    expect(await redis.client.get(key)).toBe(before);
  });

  it('leaves to the machine: a failure, a stale generation, another config, another state', async () => {
    const key = keyOf('fast-edges');
    const run = (size: number, ops: string) =>
      runScript(key, ['', ...packed('fast-edges', size, 1, 100), ops]);
    await run(4, 'R-1,0,0');
    expect(await run(4, 'R-1,0,0')).toEqual(FAST);
    expect(await run(4, 'R-1,0,1')).toEqual(MACHINE); // a failure
    expect(await run(4, 'R7,0,0')).toEqual(MACHINE); // a permit of another generation
    expect(await run(4, 'R0,0,01')).toEqual(MACHINE); // not an outcome the fast path knows
    expect(await run(4, 'A L0,0')).toEqual(MACHINE); // a release
    expect(await run(5, 'R-1,0,0')).toEqual(MACHINE); // another window size: resized
    expect(await run(5, 'R-1,0,0')).toEqual(FAST);
    expect(await run(5, '+R-1,0,0 A')).toEqual(FAST); // marked, on a window still filling
    expect(await run(5, 'TFORCED_OPEN')).toEqual(MACHINE);
    expect(await run(5, 'A')).toMatchObject({ r: [[-3]] });
    expect(await run(5, '+A E')).toMatchObject({ r: [[-3]] }); // the machine reads a marked batch too
  });
});

describe('rolling deploy from the previous version', () => {
  it('the current version reads what the previous one wrote (cjson key order, origin in cfg)', async () => {
    const name = 'from-v0';
    const key = keyOf(name);
    const cfg = configArgs(name, 10, 5);
    for (const outcome of ['1', '0', '0', '1', '0', '0']) await v0(key, '', ...cfg, 'R', '-1', '0', outcome);
    const before = JSON.parse((await redis.client.get(key))!);
    expect(before.cfg.split('\n')[18]).toBe('proc-old');

    const s = store();
    const captured = captureStoreEvents(s);
    const cb = breaker(name, { slidingWindowSize: 10, minimumNumberOfCalls: 5 }, s);
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(2);
    for (let i = 0; i < 3; i++) await cb.execute(ok);
    const metrics = await cb.getMetrics();
    expect(metrics.numberOfBufferedCalls).toBe(9);
    expect(metrics.numberOfFailedCalls).toBe(2);
    expect(captured.types()).toEqual([]);
    expect((await redis.client.get(key))!.startsWith('{"v":1,"state":"CLOSED","generation":0,')).toBe(true);
  });

  it('the previous version reads what the current one wrote, fast path included, without a reset', async () => {
    const name = 'to-v0';
    const key = keyOf(name);
    const s = store();
    const cb = breaker(name, { slidingWindowSize: 10, minimumNumberOfCalls: 5 }, s);
    await cb.execute(fail).catch(() => {});
    for (let i = 0; i < 7; i++) await cb.execute(ok);
    await cb.getState(); // the last outcome rides with an operation: let it land
    const cfg = configArgs(name, 10, 5);
    const seen = JSON.parse(await v0(key, '', ...cfg, 'G', '', '0', '0')) as Reply;
    expect(seen.g).toBeUndefined();
    expect(seen.v).toMatchObject({ state: 'CLOSED', counts: [8, 1, 0, 0, 5] });
    // the previous version records on it, and the current one sees that too
    await v0(key, '', ...cfg, 'R', '-1', '0', '1');
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(2);
    await cb.execute(ok);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(10);
  });
});

describe('a spoiled document in the current key order', () => {
  it.each<[string, (doc: string) => string, RegExp]>([
    ['a ring digit that is not an outcome', (doc) => doc.replace('"ring":"0', '"ring":"7'), /count window/],
    ['a broken rest of the same length', (doc) => doc.replace('"leases":{}', '"leases":{]'), /not JSON/],
    [
      'the hot fields intact, the rest not JSON',
      (doc) => `${doc.slice(0, doc.indexOf(',"since"'))},since}`,
      /not JSON/,
    ],
    ['a truncated document', (doc) => doc.slice(0, -2), /not JSON/],
    ['more calls than the window holds', (doc) => doc.replace(/"calls":\d+/, '"calls":11'), /count window/],
  ])('%s: reset with a STATE_RESET event; callers see no error', async (what, spoil, reason) => {
    const name = `spoiled-${what.replaceAll(' ', '-')}`;
    const { cb, captured, doc } = await afterSuccesses(name, 3);
    const spoiled = spoil(doc);
    expect(spoiled).not.toBe(doc);
    await redis.client.set(keyOf(name), spoiled);

    expect(await cb.execute(ok)).toBe('ok');
    expectOneReset(captured, reason);
    await cb.execute(ok);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(2);
    expect(JSON.parse((await redis.client.get(keyOf(name)))!)).toMatchObject({ v: 1, state: 'CLOSED' });
  });
});

describe('a spoiled rest of a full window of successes', () => {
  it('calls only read it, checked up to its config; whatever writes next resets it', async () => {
    const name = 'spoiled-steady';
    const { cb, captured, doc } = await afterSuccesses(name, 5);
    expect(JSON.parse(doc)).toMatchObject({ window: { calls: 4, failures: 0 } });
    const spoiled = doc.replace('"leases":{}', '"leases":{]');
    await redis.client.set(keyOf(name), spoiled);

    for (let i = 0; i < 3; i++) expect(await cb.execute(ok)).toBe('ok');
    expect(await redis.client.get(keyOf(name))).toBe(spoiled); // nothing written, nothing reset
    expect(captured.types()).toEqual([]);
    await cb.execute(fail).catch(() => {}); // a failure needs writing: the machine reads it whole
    await cb.execute(ok);
    expectOneReset(captured, /not JSON/);
    const metrics = await cb.getMetrics();
    expect(metrics.numberOfBufferedCalls).toBe(2);
    expect(metrics.numberOfFailedCalls).toBe(1);
    // valid again (and OPEN: one failure in two calls is the 50% threshold)
    expect(JSON.parse((await redis.client.get(keyOf(name)))!)).toMatchObject({
      v: 1,
      state: 'OPEN',
      leases: {},
    });
  });
});

describe('processes with different window sizes (a rolling deploy of a new config)', () => {
  it('the shared window keeps the newest outcomes whichever process records, on the fast path or not', async () => {
    const name = 'resized';
    const s = store();
    // failureRateThreshold 100: a window never holds only failures below, so it stays CLOSED
    const small = breaker(
      name,
      { slidingWindowSize: 4, minimumNumberOfCalls: 2, failureRateThreshold: 100 },
      s,
    );
    const large = breaker(
      name,
      { slidingWindowSize: 7, minimumNumberOfCalls: 3, failureRateThreshold: 100 },
      s,
    );
    let window: boolean[] = []; // newest last; true = failure
    const pattern = 'SSLLLSSSSLLLLLLSSLSLLLLLSSSS';
    for (let i = 0; i < pattern.length; i++) {
      const [cb, size] = pattern[i] === 'S' ? [small, 4] : [large, 7];
      const failure = i % 5 === 2;
      window = window.slice(-size); // resized to this process's size, newest kept
      window.push(failure);
      window = window.slice(-size);
      await cb.execute(failure ? fail : ok).catch(() => {});
      if (pattern[i + 1] === pattern[i]) continue; // within a run, outcomes ride with the next acquire
      const metrics = await cb.getMetrics();
      expect({ i, calls: metrics.numberOfBufferedCalls, failed: metrics.numberOfFailedCalls }).toEqual({
        i,
        calls: window.length,
        failed: window.filter(Boolean).length,
      });
      expect(await cb.getState()).toBe('CLOSED');
    }
  });
});
