import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Retry } from '@breakwater/core';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { circuitOpenAlert as open } from '../../../test/support/alert-fixtures.js';
import type { Alert, SuppressedAlert } from './alerts.js';
import { slackBody, toWebhook, WebhookError, WebhookTimeoutError } from './webhook.js';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly header: string | undefined;
  readonly body: unknown;
}

/** A webhook receiver on 127.0.0.1 whose answers the test scripts: `respond` picks the status of request n (0-based). */
class Receiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  url = '';
  constructor(
    private respond: (n: number, req: IncomingMessage, res: ServerResponse) => number | 'hang' = () => 200,
  ) {}

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const n = this.received.length;
        this.received.push({
          method: req.method ?? '',
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          header: req.headers['x-test'] as string | undefined,
          body: JSON.parse(Buffer.concat(chunks).toString() || 'null'),
        });
        const status = this.respond(n, req, res);
        if (status === 'hang') return;
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/SECRET`;
    return this;
  }

  setResponder(respond: (n: number) => number | 'hang'): void {
    this.respond = respond;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const receivers: Receiver[] = [];
const receiver = async (respond?: ConstructorParameters<typeof Receiver>[0]) => {
  const r = await new Receiver(respond).start();
  receivers.push(r);
  return r;
};
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
  vi.restoreAllMocks();
});

/** Fast retries for tests: 3 attempts, 10 ms apart. */
const FAST = { maxAttempts: 3, waitDuration: 10 };

describe('toWebhook', () => {
  it("posts each alert as JSON (format 'json', the default) and passes it on", async () => {
    const r = await receiver();
    const alerts: Alert[] = [open('a'), open('b')];
    const out = await lastValueFrom(
      from(alerts).pipe(toWebhook(r.url, { headers: { 'x-test': 'yes' } }), toArray()),
    );
    expect(out).toEqual(alerts);
    expect(r.received).toHaveLength(2);
    expect(r.received[0]).toEqual({
      method: 'POST',
      path: '/hooks/T000/SECRET',
      contentType: 'application/json',
      header: 'yes',
      body: open('a'),
    });
    expect(r.received.map((x) => (x.body as Alert).message)).toEqual([open('a').message, open('b').message]);
  });

  it("format 'slack' posts { text }; a function posts what it returns; errors serialise", async () => {
    const r = await receiver();
    const suppressed: SuppressedAlert = {
      kind: 'alert',
      type: 'SUPPRESSED',
      at: 1,
      since: 0,
      count: 3,
      keys: ['a'],
      keysTruncated: false,
      message: '3 alerts suppressed',
    };
    await lastValueFrom(from([open('a'), suppressed] as Alert[]).pipe(toWebhook(r.url, { format: 'slack' })));
    await lastValueFrom(
      from([open('c')]).pipe(toWebhook(r.url, { format: (a) => ({ summary: a.message, when: a.at }) })),
    );
    await lastValueFrom(
      from([
        {
          kind: 'alert',
          type: 'STORE_FAILURE',
          key: 'store:bw',
          name: 'bw',
          at: 2,
          error: new TypeError('ECONNREFUSED'),
          message: 'Store bw: failing',
        } as Alert,
      ]).pipe(toWebhook(r.url)),
    );
    expect(r.received.map((x) => x.body)).toEqual([
      { text: ':rotating_light: Circuit a: CLOSED -> OPEN (failure rate 60%)' },
      { text: ':mute: 3 alerts suppressed' },
      { summary: 'Circuit c: CLOSED -> OPEN (failure rate 60%)', when: 1_700_000_000_000 },
      expect.objectContaining({
        type: 'STORE_FAILURE',
        error: { name: 'TypeError', message: 'ECONNREFUSED' },
      }),
    ]);
    expect(slackBody(open('x'))).toEqual({
      text: ':rotating_light: Circuit x: CLOSED -> OPEN (failure rate 60%)',
    });
  });

  it('a server failing with 500s is retried until it recovers; nothing reaches onError', async () => {
    const r = await receiver((n) => (n < 2 ? 500 : 200));
    const onError = vi.fn();
    const delivered = vi.fn();
    const out = await lastValueFrom(
      from([open('a')]).pipe(toWebhook(r.url, { retry: FAST, onError, onDelivered: delivered }), toArray()),
    );
    expect(out).toEqual([open('a')]);
    expect(r.received).toHaveLength(3);
    expect(onError).not.toHaveBeenCalled();
    expect(delivered).toHaveBeenCalledExactlyOnceWith(open('a'), 200);
  });

  it('a server that keeps failing: onError once per alert after the retries, no error in the stream, later alerts still delivered', async () => {
    const r = await receiver(() => 503);
    const onError = vi.fn();
    const alerts = new Subject<Alert>();
    const out: Alert[] = [];
    let streamError: unknown;
    let completed = false;
    alerts.pipe(toWebhook(r.url, { retry: FAST, onError })).subscribe({
      next: (a) => out.push(a),
      error: (e) => {
        streamError = e;
      },
      complete: () => {
        completed = true;
      },
    });
    alerts.next(open('a'));
    await vi.waitFor(() => expect(onError).toHaveBeenCalledTimes(1));
    expect(r.received).toHaveLength(3);
    const [error, alert] = onError.mock.calls[0];
    expect(error).toBeInstanceOf(WebhookError);
    expect(error).toMatchObject({ status: 503, retryable: true });
    // the URL's secret path is not in the message
    expect((error as Error).message).toMatch(/^webhook http:\/\/127\.0\.0\.1:\d+\/\.\.\. answered 503$/);
    expect(alert).toEqual(open('a'));
    expect(out).toEqual([open('a')]);

    // the server recovers: the next alert goes through at once
    r.setResponder(() => 204);
    alerts.next(open('b'));
    alerts.complete();
    await vi.waitFor(() => expect(completed).toBe(true));
    expect(out).toEqual([open('a'), open('b')]);
    expect(r.received).toHaveLength(4);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(streamError).toBeUndefined();
  });

  it('a 4xx other than 408/429 is not retried', async () => {
    const r = await receiver(() => 404);
    const onError = vi.fn();
    await lastValueFrom(from([open('a')]).pipe(toWebhook(r.url, { retry: FAST, onError })));
    expect(r.received).toHaveLength(1);
    expect(onError.mock.calls[0][0]).toMatchObject({ name: 'WebhookError', status: 404, retryable: false });
  });

  it('429 is retried', async () => {
    const r = await receiver((n) => (n === 0 ? 429 : 200));
    const onError = vi.fn();
    await lastValueFrom(from([open('a')]).pipe(toWebhook(r.url, { retry: FAST, onError })));
    expect(r.received).toHaveLength(2);
    expect(onError).not.toHaveBeenCalled();
  });

  it('an attempt that hangs times out and is retried', async () => {
    const r = await receiver((n) => (n === 0 ? 'hang' : 200));
    const onError = vi.fn();
    const started = Date.now();
    await lastValueFrom(from([open('a')]).pipe(toWebhook(r.url, { retry: FAST, timeoutMs: 100, onError })));
    expect(r.received).toHaveLength(2);
    expect(onError).not.toHaveBeenCalled();
    expect(Date.now() - started).toBeLessThan(2_000);

    const never = await receiver(() => 'hang');
    await lastValueFrom(
      from([open('b')]).pipe(
        toWebhook(never.url, { retry: { maxAttempts: 2, waitDuration: 0 }, timeoutMs: 50, onError }),
      ),
    );
    expect(never.received).toHaveLength(2);
    expect(onError.mock.calls[0][0]).toBeInstanceOf(WebhookTimeoutError);
  });

  it('nobody listening (connection refused): onError, and the stream goes on', async () => {
    const r = await receiver();
    const url = r.url;
    await r.stop();
    const onError = vi.fn();
    const out = await lastValueFrom(
      from([open('a'), open('b')]).pipe(
        toWebhook(url, { retry: { maxAttempts: 2, waitDuration: 0 }, onError }),
        toArray(),
      ),
    );
    expect(out).toEqual([open('a'), open('b')]);
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError.mock.calls[0][0]).toBeInstanceOf(Error);
  });

  it('keeps the order of alerts, one post at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const posted: string[] = [];
    const fetch = async (_url: string, init: { body: string }) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      posted.push((JSON.parse(init.body) as Alert).message);
      inFlight--;
      return { ok: true, status: 200 };
    };
    const alerts = ['a', 'b', 'c', 'd'].map(open);
    await lastValueFrom(from(alerts).pipe(toWebhook('http://hooks.invalid/x', { fetch })));
    expect(posted).toEqual(alerts.map((a) => a.message));
    expect(maxInFlight).toBe(1);
  });

  it('unsubscribing aborts the post in flight, without onError', async () => {
    const r = await receiver(() => 'hang');
    const onError = vi.fn();
    let signal: AbortSignal | undefined;
    const fetch = (
      url: string,
      init: { signal: AbortSignal; method: 'POST'; headers: Record<string, string>; body: string },
    ) => {
      signal = init.signal;
      return globalThis.fetch(url, init);
    };
    const sub = from([open('a')])
      .pipe(toWebhook(r.url, { fetch, onError, timeoutMs: 10_000 }))
      .subscribe();
    await vi.waitFor(() => expect(r.received).toHaveLength(1));
    sub.unsubscribe();
    expect(signal?.aborted).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(onError).not.toHaveBeenCalled();
  });

  it('a throwing onError or format never breaks the stream', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const out = await lastValueFrom(
      from([open('a')]).pipe(
        toWebhook('http://hooks.invalid/x', {
          fetch: async () => ({ ok: false, status: 400 }),
          onError: () => {
            throw new Error('bad handler');
          },
        }),
        toWebhook('http://hooks.invalid/y', {
          format: () => {
            throw new Error('bad format');
          },
          onError: () => {},
        }),
        toArray(),
      ),
    );
    expect(out).toEqual([open('a')]);
    expect(String(warn.mock.calls[0]?.[0])).toContain('bad handler');
  });

  it('by default a given-up post is a process warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    await lastValueFrom(
      from([open('a')]).pipe(
        toWebhook('http://hooks.invalid/x', { fetch: async () => ({ ok: false, status: 401 }) }),
      ),
    );
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0][0])).toContain('answered 401');
  });

  it('takes a Retry of your own', async () => {
    const r = await receiver((n) => (n < 3 ? 500 : 200));
    const retry = Retry.of('my-webhook', { maxAttempts: 4, waitDuration: 1 });
    const onError = vi.fn();
    await lastValueFrom(from([open('a')]).pipe(toWebhook(r.url, { retry, onError })));
    expect(r.received).toHaveLength(4);
    expect(onError).not.toHaveBeenCalled();
    expect((await retry.getMetrics()).numberOfSuccessfulCallsWithRetryAttempt).toBe(1);
  });

  it('validates its arguments', () => {
    expect(() => toWebhook('not a url')).toThrow(TypeError);
    expect(() => toWebhook('ftp://example.com/x')).toThrow(/http\(s\) URL/);
    expect(() => toWebhook('http://x.invalid/', { format: 'xml' as never })).toThrow(/format/);
    expect(() => toWebhook('http://x.invalid/', { timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => toWebhook('http://x.invalid/', { retries: 3 } as never)).toThrow(
      /'retries' is not an option/,
    );
    expect(() => toWebhook('http://x.invalid/', { retry: { maxAttempts: 0 } })).toThrow(/maxAttempts/);
  });
});
