/**
 * A program written against @types/opossum: it imports `opossum` and uses every part of the API
 * those typings declare (and opossum's README examples). `types.test.ts` compiles it twice, with
 * `opossum` resolving to @types/opossum and then to this package, and both must succeed: code
 * typed against @types/opossum compiles unchanged against @breakwater/opossum.
 *
 * Not run; only compiled (and checked by `pnpm typecheck` against @types/opossum).
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import CircuitBreaker from 'opossum';

export async function usesTheTypedApi(): Promise<void> {
  // ------------------------------------------------------------------ statics

  const ours: boolean = CircuitBreaker.isOurError(new Error('x'));
  const primed: CircuitBreaker.Status = CircuitBreaker.newStatus({
    rollingCountBuckets: 10,
    rollingCountTimeout: 10_000,
    rollingPercentilesEnabled: true,
    enableSnapshots: false,
    rotateBucketController: new EventEmitter(),
  });

  // ------------------------------------------------------------------ every option

  const options: CircuitBreaker.Options<[string, number]> = {
    status: primed,
    timeout: 3000,
    maxFailures: 10,
    resetTimeout: 30_000,
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
    name: 'typed',
    group: 'group',
    rollingPercentilesEnabled: true,
    capacity: 10,
    errorThresholdPercentage: 50,
    enabled: true,
    allowWarmUp: false,
    volumeThreshold: 0,
    // `err` is any, as typed: property access without narrowing compiles.
    errorFilter: (err) => err.statusCode === 404,
    cache: false,
    cacheTTL: 0,
    cacheGetKey: (a, b) => `${a}:${b}`,
    cacheTransport: {
      get: (key: string) => key,
      set: (_key: string, _value: unknown, _ttl: number) => {},
      flush: () => {},
    },
    abortController: new AbortController(),
    autoRenewAbortController: false,
    enableSnapshots: true,
    rotateBucketController: new EventEmitter(),
  };
  const noTimeout: CircuitBreaker.Options = { timeout: false };

  // ------------------------------------------------------------------ generics flow from the action

  const action = async (foo: string, bar: number) => (foo ? bar : bar * 2);
  const typed = new CircuitBreaker(action, options);
  const result: number = await typed.fire('hello', 42);
  // @ts-expect-error the arguments are typed by the action
  typed.fire(5, 'hello');
  const viaCall: number = await typed.call({ some: 'context' }, 'a', 1);
  typed.on('success', (value, latencyMs) => {
    const n: number = value;
    const ms: number = latencyMs;
    void [n, ms];
  });
  typed.on('fire', ([foo, bar]) => {
    const s: string = foo;
    const n: number = bar;
    void [s, n];
  });
  typed.on('failure', (err, latencyMs, args) => {
    const e: Error = err;
    const [s] = args;
    void [e, latencyMs, s];
  });

  // ------------------------------------------------------------------ a breaker of unknown shape

  let breaker: CircuitBreaker;
  breaker = new CircuitBreaker(async () => true, { timeout: 1000 });
  breaker = new CircuitBreaker(async (x: number, y: number) => [x, y], noTimeout);
  const readFile = promisify(fs.readFile);
  breaker = new CircuitBreaker(readFile, {});
  void breaker.fire('./package.json', 'utf-8').then(console.log).catch(console.error);

  // ------------------------------------------------------------------ getters

  const name: string = breaker.name;
  const group: string = breaker.group;
  const flags: boolean[] = [
    breaker.enabled,
    breaker.pendingClose,
    breaker.closed,
    breaker.opened,
    breaker.halfOpen,
    breaker.isShutdown,
    breaker.warmUp,
  ];
  const volume: number = breaker.volumeThreshold;
  const stats: CircuitBreaker.Stats = breaker.stats;
  const mean: number = breaker.status.stats.latencyMean;
  const latencies: number[] = stats.latencyTimes;
  const p99: number = stats.percentiles[0.99];
  const window: CircuitBreaker.Window = breaker.status.window;
  const bucket: CircuitBreaker.Bucket = window[0];
  const fires: number = bucket.fires;
  breaker.status.on('snapshot', (snapshot) => {
    const s: CircuitBreaker.Stats = snapshot;
    void s;
  });
  const json: { state: CircuitBreaker.State; status: CircuitBreaker.Stats } = breaker.toJSON();
  const state: CircuitBreaker.State = json.state;
  const open: boolean = state.open && state.closed && state.halfOpen && state.warmUp && state.shutdown;
  void [ours, result, viaCall, name, group, flags, volume, mean, latencies, p99, fires, open];

  // ------------------------------------------------------------------ methods

  breaker.fallback(() => 'Sorry, out of service right now');
  breaker.fallback((x: number, err: Error) => `${x} ${err.message}`);
  breaker.fallback(typed);
  breaker.healthCheck(async () => {}, 5000);
  breaker.healthCheck(() => Promise.resolve());
  breaker.clearCache();
  breaker.open();
  breaker.close();
  breaker.disable();
  breaker.enable();
  breaker.shutdown();

  // ------------------------------------------------------------------ every typed event, chained

  const noArgs = async () => console.log('event');
  breaker
    .on('halfOpen', (resetTimeout: number) => console.log(resetTimeout))
    .on('close', noArgs)
    .on('open', noArgs)
    .on('shutdown', noArgs)
    .on('fire', (args) => console.log(args))
    .on('cacheHit', noArgs)
    .on('cacheMiss', noArgs)
    .on('reject', (err: Error) => console.log(err.message))
    .on('timeout', (err: Error) => console.log(err.message))
    .on('success', (value) => console.log(value))
    .on('semaphoreLocked', (err: Error) => console.log(err.message))
    .on('healthCheckFailed', (err: Error) => console.log(err.message))
    .on('fallback', (value, err) => console.log(value, err.message))
    .on('failure', (err, latencyMs) => console.log(err.message, latencyMs));

  // ------------------------------------------------------------------ the namespace's types

  const cache: CircuitBreaker.MemoryCache = { get: () => undefined, set: () => {}, flush: () => {} };
  const transport: CircuitBreaker.CacheTransport = cache;
  const statusOptions: CircuitBreaker.StatusOptions = { stats, rollingCountBuckets: 5 };
  void [transport, statusOptions];
}
