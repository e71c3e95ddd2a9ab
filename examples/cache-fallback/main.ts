/**
 * `pnpm --filter @breakwater/example-cache-fallback start`: a user service reads users through a
 * cache (in-process L1, Redis L2) with the database as the loader. Its harness starts its own
 * redis-server, then kills it in the middle of traffic and restarts it:
 *
 * 1. healthy: misses go to the database once and are written back to Redis; repeats are L1 hits;
 * 2. Redis killed during a burst of 20 lookups: every lookup is answered from the database, the
 *    cache's breaker opens (10 failures within 60 s), one alert per key reaches the webhook, at
 *    most 6 keys, the rest held back;
 * 3. while the breaker is open, lookups do not try Redis at all;
 * 4. Redis restarted: after the open wait one probe closes the breaker and values reach Redis again;
 * 5. the alert stream ends: what was held back is summarised in one post.
 *
 * The caller never sees an error. Takes about two seconds; exits 0.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { CACHE_BREAKER_CONFIG, Cache, RedisCacheStore } from '@breakwater/cache';
import { CircuitBreaker } from '@breakwater/core';
import { type Alert, alerts, eventsOf, toWebhook, transitions } from '@breakwater/events';
import { Redis } from 'ioredis';
import { lastValueFrom, Subject, takeUntil, toArray } from 'rxjs';
import { startLocalRedis } from '../fleet/local-redis.js';
import type { ScenarioOptions } from '../scenario-options.js';

export interface User {
  readonly id: string;
  readonly name: string;
}

export interface CacheFallbackResult {
  /** Lookups answered, and those that failed (none should). */
  readonly answered: number;
  readonly failed: number;
  /** Database queries per phase. */
  readonly queries: Readonly<Record<string, number>>;
  /** The breaker's transitions, as `FROM->TO`. */
  readonly transitions: readonly string[];
  /** Alerts as they came out of the webhook sink, and the bodies the receiver accepted. */
  readonly alerts: readonly Alert[];
  readonly posted: readonly { readonly text: string }[];
  /** Redis operations skipped while the breaker was open, and those that failed. */
  readonly l2Skipped: number;
  readonly l2Errors: number;
  /** What Redis holds for a user looked up after the recovery. */
  readonly afterRecovery: string | null;
}

/** `log` gets the narration; default: console.log. */
export interface RunOptions extends ScenarioOptions {
  /** How long the cache's breaker stays OPEN (ms). Default 1,000 (the service itself: 3 minutes). */
  readonly openWaitMs?: number;
}

/** The database: slow-ish, always up. */
function userDatabase() {
  let queries = 0;
  return {
    get queries() {
      return queries;
    },
    async findUser(id: string): Promise<User> {
      queries++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { id, name: `user ${id}` };
    },
  };
}

/** A webhook receiver (think Slack) on 127.0.0.1. */
async function webhookReceiver(say: (line: string) => void) {
  const posted: { text: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { text: string };
      posted.push(body);
      say(`  webhook <- ${body.text}`);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/cache`,
    posted,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function run(options: RunOptions = {}): Promise<CacheFallbackResult> {
  const say = options.log ?? ((line: string) => console.log(line));
  const openWaitMs = options.openWaitMs ?? 1_000;
  const redis = await startLocalRedis();
  const receiver = await webhookReceiver(say);
  const client = new Redis(redis.url);
  client.on('error', () => {}); // the outage is the point; the cache reports it
  const db = userDatabase();

  // The service's cache: 10 failures of Redis within 60 s open its breaker (3 minutes in the
  // service; openWaitMs here), lookups wait at most 50 ms for Redis.
  const breaker = CircuitBreaker.of('cache:users', {
    ...CACHE_BREAKER_CONFIG,
    waitDurationInOpenState: openWaitMs,
  });
  const store = new RedisCacheStore({ client, keyPrefix: 'app' });
  const users = Cache.of<User>('users', {
    ttlMs: 60_000,
    graceMs: 600_000,
    l1: { maxEntries: 10_000 },
    l2: store,
    l2TimeoutMs: 50,
    breaker,
    version: 1,
  });
  const getUser = users.wrap((id: string) => db.findUser(id), { key: (id) => `user:${id}` });

  // Alerts about cache errors: one per key per 10 minutes, at most 6 keys per window.
  const stop = new Subject<void>();
  const delivered = lastValueFrom(
    eventsOf(users).pipe(
      takeUntil(stop),
      alerts({ cooldownMs: 600_000, maxKeys: 6 }),
      toWebhook(receiver.url, { format: 'slack', onError: (e) => say(`  webhook gave up: ${String(e)}`) }),
      toArray(),
    ),
  );
  const seen: string[] = [];
  const offTransitions = eventsOf(breaker)
    .pipe(transitions())
    .subscribe((t) => {
      seen.push(`${t.from}->${t.to}`);
      say(`  breaker ${t.name}: ${t.from} -> ${t.to}`);
    });

  let answered = 0;
  let failed = 0;
  const lookup = (id: string) =>
    getUser(id).then(
      () => {
        answered++;
      },
      (error: unknown) => {
        failed++;
        say(`  lookup ${id} FAILED: ${String(error)}`);
      },
    );
  const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
  const queries: Record<string, number> = {};
  const phase = async (name: string, work: () => Promise<void>) => {
    const before = db.queries;
    await work();
    queries[name] = db.queries - before;
    say(`  ${db.queries - before} database queries`);
  };

  try {
    say('1. healthy: users 1-10 are loaded once, then answered from L1');
    await phase('healthy', async () => {
      for (const id of ids(1, 10)) await lookup(id);
      for (const id of ids(1, 10)) await lookup(id);
    });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the write-backs land

    say('2. Redis is killed during a burst of 20 lookups: the database answers every one');
    await redis.kill();
    await phase('outage burst', () => Promise.all(ids(11, 30).map(lookup)).then(() => undefined));

    say('3. the breaker is open: lookups do not try Redis');
    await phase('breaker open', async () => {
      for (const id of ids(31, 35)) await lookup(id);
      for (const id of ids(1, 5)) await lookup(id); // still in L1
    });

    say('4. Redis is back: after the open wait, one probe closes the breaker');
    await redis.restart();
    await new Promise((resolve) => setTimeout(resolve, openWaitMs + 50));
    await phase('recovered', async () => {
      for (const id of ids(36, 40)) await lookup(id);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const afterRecovery = await client.get('app:cache:users:v1:user:40');

    say('5. shutting down: the alerts held back are summarised');
    stop.next();
    const sent = await delivered;
    const metrics = await users.getMetrics();
    return {
      answered,
      failed,
      queries,
      transitions: seen,
      alerts: sent,
      posted: receiver.posted,
      l2Skipped: metrics.l2NotPermitted,
      l2Errors: Object.values(metrics.l2Errors).reduce((a, b) => a + b, 0),
      afterRecovery,
    };
  } finally {
    stop.next();
    offTransitions.unsubscribe();
    users.close();
    await store.close();
    client.disconnect();
    await receiver.close();
    await redis.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log('Cache fallback: a user lookup through L1, Redis and the database, through a Redis outage\n');
  const result = await run();
  console.log(
    `\n${result.answered} lookups answered, ${result.failed} failed; breaker ${result.transitions.join(', ')}; ` +
      `${result.alerts.length} alerts (${result.posted.length} posts); Redis skipped ${result.l2Skipped} times while open`,
  );
}
