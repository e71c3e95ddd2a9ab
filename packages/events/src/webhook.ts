import { IntervalFunction, Retry, type RetryConfig } from '@breakwater/core';
import { ConfigReader } from '@breakwater/core/engine';
import { concatMap, type MonoTypeOperatorFunction, Observable } from 'rxjs';
import type { Alert } from './alerts.js';
import { errorMessage } from './format.js';

/** The part of `fetch` the webhook sink uses (Node's global `fetch` fits). */
export type WebhookFetch = (
  url: string,
  init: {
    readonly method: 'POST';
    readonly headers: Record<string, string>;
    readonly body: string;
    readonly signal: AbortSignal;
  },
) => Promise<{ readonly ok: boolean; readonly status: number }>;

export interface WebhookOptions<A extends Alert = Alert> {
  /**
   * `'json'` (default): the alert as JSON (errors as `{ name, message }`). `'slack'`: a Slack
   * incoming-webhook message `{ text }`. A function: its return value, as JSON.
   */
  readonly format?: 'slack' | 'json' | ((alert: A) => unknown);
  /**
   * How failed posts are retried: a `Retry` from @breakwater/core, or a config for one. Default:
   * 3 attempts, exponential backoff from 500 ms; network errors, timeouts, 408, 429 and 5xx are
   * retried, other 4xx are not.
   */
  readonly retry?: Retry | RetryConfig;
  /** Time allowed for one attempt (ms). Default 5,000. */
  readonly timeoutMs?: number;
  /** Extra request headers (`content-type: application/json` is always sent). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Default: the global `fetch`. */
  readonly fetch?: WebhookFetch;
  /** Told about a post given up on (after its retries); it never reaches the stream. Default: a process warning. */
  readonly onError?: (error: unknown, alert: A) => void;
  /** Told about each alert delivered (2xx). */
  readonly onDelivered?: (alert: A, status: number) => void;
}

export const WEBHOOK_DEFAULTS = Object.freeze({
  format: 'json' as const,
  timeoutMs: 5_000,
  maxAttempts: 3,
  initialIntervalMs: 500,
  multiplier: 2,
});

/** The webhook answered with a status that is not 2xx. */
export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`webhook ${redact(url)} answered ${status}`);
  }
  /** 408, 429 and 5xx are worth another attempt; other statuses will not change. */
  get retryable(): boolean {
    return this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** One attempt ran out of time. */
export class WebhookTimeoutError extends Error {
  override readonly name = 'WebhookTimeoutError';
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`webhook ${redact(url)} did not answer within ${timeoutMs} ms`);
  }
}

const KNOWN = ['format', 'retry', 'timeoutMs', 'headers', 'fetch', 'onError', 'onDelivered'] as const;

/**
 * A sink: posts every alert to `url` and passes it on once the post is settled (delivered, or
 * given up on after the retries), in order. A failing webhook never errors the stream: the error
 * goes to `onError`. Unsubscribing aborts a post in flight.
 *
 *     eventsOf(registry).pipe(alerts(), toWebhook(process.env.SLACK_URL, { format: 'slack' })).subscribe();
 */
export function toWebhook<A extends Alert>(
  url: string | URL,
  options: WebhookOptions<A> = {},
): MonoTypeOperatorFunction<A> {
  const target = String(url);
  if (!URL.canParse(target) || !/^https?:$/.test(new URL(target).protocol)) {
    throw new TypeError(`toWebhook: url must be an http(s) URL, got ${JSON.stringify(redact(target))}`);
  }
  const r = new ConfigReader('toWebhook options', options, KNOWN);
  const format = options.format ?? WEBHOOK_DEFAULTS.format;
  if (typeof format !== 'function' && format !== 'json' && format !== 'slack') {
    r.fail('format', "'json', 'slack' or a function (alert) => body");
  }
  const timeoutMs = r.number('timeoutMs', WEBHOOK_DEFAULTS.timeoutMs, 1, 2_147_483_647);
  const fetchFn = r.func<WebhookFetch>('fetch', undefined) ?? defaultFetch();
  const onError = r.func<(error: unknown, alert: A) => void>('onError', undefined) ?? warn;
  const onDelivered = r.func<(alert: A, status: number) => void>('onDelivered', undefined);
  const headers = { ...options.headers, 'content-type': 'application/json' };
  const retry = retryOf(options.retry);
  const toBody = (alert: A): string =>
    JSON.stringify(
      typeof format === 'function' ? format(alert) : format === 'slack' ? slackBody(alert) : alert,
      jsonReplacer,
    );

  const post = async (alert: A, body: string, signal: AbortSignal): Promise<void> => {
    const attempt = new AbortController();
    const onAbort = () => attempt.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => attempt.abort(new WebhookTimeoutError(target, timeoutMs)), timeoutMs);
    try {
      const response = await fetchFn(target, { method: 'POST', headers, body, signal: attempt.signal });
      if (!response.ok) throw new WebhookError(target, response.status);
      safely(() => onDelivered?.(alert, response.status));
    } catch (error) {
      // fetch rejects with an AbortError: report why it was aborted instead.
      throw attempt.signal.aborted ? attempt.signal.reason : error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  };

  const deliver = (alert: A) =>
    new Observable<A>((subscriber) => {
      const controller = new AbortController();
      let settled = false;
      let body: string;
      try {
        body = toBody(alert);
      } catch (error) {
        safely(() => onError(error, alert));
        subscriber.next(alert);
        subscriber.complete();
        return;
      }
      retry
        .execute((signal) => post(alert, body, signal), controller.signal)
        .then(
          () => {},
          (error: unknown) => {
            if (!controller.signal.aborted) safely(() => onError(error, alert));
          },
        )
        .finally(() => {
          settled = true;
          subscriber.next(alert);
          subscriber.complete();
        });
      return () => {
        if (!settled) controller.abort(new Error('toWebhook: unsubscribed'));
      };
    });

  return (source) => source.pipe(concatMap(deliver));
}

function retryOf(retry: Retry | RetryConfig | undefined): Retry {
  if (retry instanceof Retry) return retry;
  if (retry !== undefined && (typeof retry !== 'object' || retry === null)) {
    throw new TypeError('toWebhook: retry must be a Retry or a RetryConfig object');
  }
  const base: RetryConfig = {
    maxAttempts: WEBHOOK_DEFAULTS.maxAttempts,
    retryExceptions: (error) => !(error instanceof WebhookError) || error.retryable,
  };
  const config: RetryConfig =
    retry?.waitDuration === undefined && retry?.intervalFunction === undefined
      ? {
          ...base,
          intervalFunction: IntervalFunction.ofExponentialBackoff(
            WEBHOOK_DEFAULTS.initialIntervalMs,
            WEBHOOK_DEFAULTS.multiplier,
          ),
          ...retry,
        }
      : { ...base, ...retry };
  return Retry.of('webhook', config);
}

function defaultFetch(): WebhookFetch {
  if (typeof globalThis.fetch !== 'function') {
    throw new TypeError('toWebhook: no global fetch (Node >= 18 has one); pass options.fetch');
  }
  return (url, init) => globalThis.fetch(url, init);
}

/** A Slack incoming-webhook message. */
export function slackBody(alert: Alert): { text: string } {
  const icon = alert.type === 'SUPPRESSED' ? ':mute:' : ':rotating_light:';
  return { text: `${icon} ${alert.message}` };
}

/** Errors become `{ name, message }` (JSON.stringify turns them into `{}`). */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    warn(error);
  }
}

function warn(error: unknown): void {
  process.emitWarning(`toWebhook: ${errorMessage(error)}`, 'BreakwaterWebhookWarning');
}

/** Webhook URLs carry secrets in their path (Slack, Discord): never print more than the origin. */
function redact(url: string): string {
  try {
    return `${new URL(url).origin}/...`;
  } catch {
    return '(invalid url)';
  }
}
