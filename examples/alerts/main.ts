/**
 * `pnpm --filter @breakwater/example-alerts start`: a ticker feed behind a circuit breaker trips;
 * the alert goes to a webhook (a Slack-style receiver on 127.0.0.1 started here, which answers 503
 * once so that the sink retries), every state transition is logged as one JSON line, and when the
 * breaker trips again within the cooldown the alert is held back and summarised at the end.
 * Takes under a second; exits 0.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { CallNotPermittedError, CircuitBreakerRegistry } from '@breakwater/core';
import { type Alert, alerts, eventsOf, toLog, toWebhook } from '@breakwater/events';
import { lastValueFrom, Subject, share, takeUntil, toArray } from 'rxjs';
import type { ScenarioOptions } from '../scenario-options.js';

export interface AlertsExampleResult {
  /** Bodies the webhook receiver accepted, in order. */
  readonly posted: readonly { readonly text: string }[];
  /** HTTP statuses the receiver answered, in order (the first is a 503). */
  readonly statuses: readonly number[];
  /** The alerts, as they came out of the webhook sink. */
  readonly alerts: readonly Alert[];
  /** The JSON lines the log sink wrote. */
  readonly logLines: readonly string[];
  readonly finalState: string;
}

/** `log` gets the narration and the JSON log lines; default: console.log. */
export interface RunOptions extends ScenarioOptions {
  /** How long the breaker stays OPEN (ms). Default 200. */
  readonly openWaitMs?: number;
}

export async function run(options: RunOptions = {}): Promise<AlertsExampleResult> {
  const say = options.log ?? ((line: string) => console.log(line));
  const openWaitMs = options.openWaitMs ?? 200;

  // A webhook receiver (think Slack): it fails the first post with 503, then accepts.
  const posted: { text: string }[] = [];
  const statuses: number[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses.length === 0 ? 503 : 200;
      statuses.push(status);
      if (status === 200) {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { text: string };
        posted.push(body);
        say(`  webhook <- ${body.text}`);
      } else {
        say(`  webhook answered ${status} (the sink will retry)`);
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/T000/B000/XXXX`;

  const registry = CircuitBreakerRegistry.of({
    configs: {
      default: {
        slidingWindowSize: 5,
        minimumNumberOfCalls: 5,
        failureRateThreshold: 50,
        waitDurationInOpenState: openWaitMs,
        permittedNumberOfCallsInHalfOpenState: 1,
      },
    },
  });

  // One subscription to the registry, shared by the two sinks.
  const stop = new Subject<void>();
  const events = eventsOf(registry).pipe(takeUntil(stop), share());
  const logLines: string[] = [];
  const logging = lastValueFrom(
    events.pipe(
      toLog((line) => {
        logLines.push(line);
        say(`  log    <- ${line}`);
      }),
    ),
    { defaultValue: undefined },
  );
  const delivered = lastValueFrom(
    events.pipe(
      alerts({ cooldownMs: 60_000, maxKeys: 6 }),
      toWebhook(webhookUrl, {
        format: 'slack',
        retry: { maxAttempts: 3, waitDuration: 50 },
        onError: (error) => say(`  webhook gave up: ${String(error)}`),
      }),
      toArray(),
    ),
  );

  // The breaker is created after subscribing: the registry stream follows it all the same.
  const ticker = registry.circuitBreaker('upbit/kr/ticker');
  const fetchTicker = (ok: boolean) =>
    ticker
      .execute(async () => {
        if (!ok) throw new Error('upstream 502');
        return { price: 97_000_000 };
      })
      .then(
        () => 'ok',
        (error: unknown) => (error instanceof CallNotPermittedError ? 'refused (breaker open)' : 'failed'),
      );

  say('1. the upstream starts failing: 3 of 5 calls fail');
  for (const ok of [true, true, false, false, false]) say(`  call: ${await fetchTicker(ok)}`);
  say(`  call: ${await fetchTicker(true)}`);

  say(`2. after ${openWaitMs} ms a probe passes and the breaker closes`);
  await new Promise((resolve) => setTimeout(resolve, openWaitMs + 20));
  say(`  call: ${await fetchTicker(true)}`);

  say('3. it trips again within the cooldown: logged, but no second alert');
  for (const ok of [false, false, false, true, false]) await fetchTicker(ok);

  say('4. shutting down: the alert that was held back is summarised');
  stop.next();
  const result = await delivered;
  await logging;
  const finalState = await ticker.getState();
  registry.remove('upbit/kr/ticker');
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  return { posted, statuses, alerts: result, logLines, finalState };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log('Alerts: a breaker trips, an alert is posted to a webhook, transitions are logged\n');
  const result = await run();
  console.log(
    `\n${result.alerts.length} alerts, ${result.posted.length} posts delivered ` +
      `(receiver answered ${result.statuses.join(', ')}); breaker ${result.finalState}`,
  );
}
