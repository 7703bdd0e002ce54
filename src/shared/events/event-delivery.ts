/**
 * Sends one CloudEvent over HTTP in binary content mode (attributes as `ce-*` headers, data
 * as the body), as Knative sinks expect, with bounded retries: exponential backoff with
 * jitter on connection errors, timeouts, 5xx, 408 and 429; no retry on other 4xx (the sink
 * refused the event; sending it again would not change its mind).
 *
 * Retrying can deliver an event twice when a response is lost after the sink accepted it;
 * receivers deduplicate on `source` + `id`, which stay the same across attempts.
 */
import { context, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { HTTP } from 'cloudevents';
import type { CloudEvent } from 'cloudevents';
import type { Logger } from 'pino';
import { inSpan } from '../observability/tracing.js';

export interface DeliveryOptions {
  /** Tries in all, the first included. @defaultValue 6 */
  maxAttempts?: number;
  /** Backoff before the second try; doubles each time. @defaultValue 250 */
  initialDelayMs?: number;
  /** Longest single backoff. @defaultValue 4000 */
  maxDelayMs?: number;
  /** Time limit of one try (connect to response). @defaultValue 5000 */
  attemptTimeoutMs?: number;
  /**
   * No new try starts after this long, so that delivery fits in a consumer's drain.
   * @defaultValue 15000
   */
  deadlineMs?: number;
}

export interface DeliveryResult {
  delivered: boolean;
  attempts: number;
  /** HTTP status of the last try, when there was a response. */
  status?: number;
  /** Why the last try failed, when it did. */
  error?: string;
}

const DEFAULTS: Required<DeliveryOptions> = {
  maxAttempts: 6,
  initialDelayMs: 250,
  maxDelayMs: 4000,
  attemptTimeoutMs: 5000,
  deadlineMs: 15_000,
};

const isRetryableStatus = (status: number): boolean => status >= 500 || status === 408 || status === 429;

/** Backoff before try `attempt + 1`: exponential, capped, with jitter (half to full). */
export function backoffMs(attempt: number, options: Pick<Required<DeliveryOptions>, 'initialDelayMs' | 'maxDelayMs'>): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

async function attemptOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ status?: number; error?: string }> {
  try {
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return { status: res.status };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { error: cause ?? (err instanceof Error ? err.name + ': ' + err.message : String(err)) };
  }
}

/**
 * Posts `event` to `url` in binary mode. The HTTP `traceparent` header carries this
 * delivery's span; the event's own `traceparent` attribute (`ce-traceparent`) is left as the
 * caller set it. Never throws: the result says whether the sink accepted the event.
 */
export function deliverBinary(
  url: string,
  event: CloudEvent<unknown>,
  logger: Logger,
  options: DeliveryOptions = {},
): Promise<DeliveryResult> {
  const opts = { ...DEFAULTS, ...options };
  const sink = new URL(url);
  const attributes = {
    'http.request.method': 'POST',
    'server.address': sink.hostname,
    'url.full': `${sink.origin}${sink.pathname}`,
    'messaging.system': 'cloudevents',
    'messaging.operation.type': 'send',
    'messaging.destination.name': sink.host,
    'messaging.message.id': event.id,
    'cloudevents.event_type': event.type,
    'cloudevents.event_id': event.id,
  };
  return inSpan(`send ${event.type}`, { kind: SpanKind.PRODUCER, attributes }, async (span) => {
    const message = HTTP.binary(event);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers)) if (value !== undefined) headers[name] = String(value);
    propagation.inject(context.active(), headers);
    const body = typeof message.body === 'string' ? message.body : JSON.stringify(message.body);
    const started = Date.now();
    let result: DeliveryResult = { delivered: false, attempts: 0 };
    for (let attempt = 1; attempt <= opts.maxAttempts; attempt++) {
      const outcome = await attemptOnce(url, headers, body, opts.attemptTimeoutMs);
      result = { delivered: outcome.status !== undefined && outcome.status < 300, attempts: attempt, ...outcome };
      span.setAttribute('http.request.resend_count', attempt - 1);
      if (outcome.status !== undefined) span.setAttribute('http.response.status_code', outcome.status);
      if (result.delivered) return result;
      const retryable = outcome.status === undefined || isRetryableStatus(outcome.status);
      const delay = backoffMs(attempt, opts);
      const canRetry = retryable && attempt < opts.maxAttempts && Date.now() - started + delay < opts.deadlineMs;
      span.addEvent('delivery attempt failed', {
        attempt,
        ...(outcome.status ? { status: outcome.status } : { error: outcome.error ?? '' }),
      });
      logger.warn(
        { attempt, status: outcome.status, error: outcome.error, retry: canRetry, event_type: event.type },
        'CloudEvent delivery attempt failed',
      );
      if (!canRetry) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    span.setStatus({ code: SpanStatusCode.ERROR, message: `not delivered after ${result.attempts} attempt(s)` });
    return result;
  });
}
