/**
 * CloudEvents posted to the producer's `POST /`: a Knative PingSource tick (directly, or
 * through a Broker and Trigger) whose data is the same JSON as `POST /v1/batches`.
 *
 * The ping adapter (knative/eventing `pkg/adapter/mtping/runner.go`) sends binary mode:
 * `ce-type: dev.knative.sources.ping`, `ce-source: /apis/v1/namespaces/<ns>/pingsources/<name>`,
 * a fresh uuid `ce-id` per tick (its retries reuse it), `ce-time` set when sent, and the
 * body = `spec.data` with `content-type` = `spec.contentType`. It retries a tick 5 times
 * with 50 ms exponential backoff and then drops it, so the caller answers right after
 * validation and ingests in the background.
 *
 * Duplicates: the same event (`source` + `id`) makes one batch, and so does one tick fired
 * twice under two ids (`source` + the scheduled minute of `time`).
 */
import type http from 'node:http';
import { HTTP } from 'cloudevents';
import type { CloudEventV1 } from 'cloudevents';
import { CloudEventError, TemplateError, ValidationError } from '../shared/errors.js';
import { expandTimePlaceholders, scheduledMinute } from '../shared/time-template.js';
import type { BatchRequest } from '../shared/types.js';
import { parseBatchRequest } from './batch-request.js';
import type { RequestPolicy } from './batch-request.js';

export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

/** Event types `POST /` turns into a batch. */
export const ACCEPTED_EVENT_TYPES: readonly string[] = [PING_EVENT_TYPE];

export interface ScheduledSubmission {
  request: BatchRequest;
  /** Idempotency keys besides the request's own: the event's identity and, for a ping, its tick. */
  dedupeKeys: string[];
}

const PING_SOURCE = /^\/apis\/v1(?:beta\d+|alpha\d+)?\/namespaces\/([^/]+)\/pingsources\/([^/]+)$/;

/** `{namespace, name}` of a PingSource from its event source, or undefined for other sources. */
export function pingSourceOf(source: string): { namespace: string; name: string } | undefined {
  const match = PING_SOURCE.exec(source);
  return match?.[1] && match[2] ? { namespace: match[1], name: match[2] } : undefined;
}

/** Media types are compared without parameters: `application/cloudevents+json; charset=utf-8` is structured mode too. */
function normaliseHeaders(headers: http.IncomingHttpHeaders): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = { ...headers };
  const type = headers['content-type'];
  if (typeof type === 'string') out['content-type'] = type.split(';')[0]?.trim().toLowerCase();
  return out;
}

/** Reads a binary- or structured-mode CloudEvent from an HTTP request, with the SDK's HTTP binding. */
export function readCloudEvent(headers: http.IncomingHttpHeaders, body: Buffer): CloudEventV1<unknown> {
  let parsed: CloudEventV1<unknown> | CloudEventV1<unknown>[];
  try {
    parsed = HTTP.toEvent({ headers: normaliseHeaders(headers), body: body.toString('utf8') });
  } catch (err) {
    throw new CloudEventError(`not a CloudEvent: ${(err as Error).message}`);
  }
  if (Array.isArray(parsed)) throw new CloudEventError('batched CloudEvents are not accepted; send one event per request');
  try {
    // The binding builds events without validating them; this checks the required attributes.
    (parsed as CloudEventV1<unknown> & { validate(): boolean }).validate();
  } catch (err) {
    const errors = (err as { errors?: unknown }).errors;
    throw new CloudEventError(`invalid CloudEvent: ${(err as Error).message}${errors ? ` ${JSON.stringify(errors)}` : ''}`);
  }
  return parsed;
}

/** The event's data as a JSON value: parsed already, a JSON string, bytes, or base64 of JSON. */
export function eventData(event: CloudEventV1<unknown>): unknown {
  let data: unknown = event.data ?? event.data_base64;
  if (ArrayBuffer.isView(data)) {
    // The SDK hands structured-mode `data_base64` over as a typed array of byte values.
    data = Buffer.from(Array.from(data as unknown as ArrayLike<number>)).toString('utf8');
  }
  if (typeof data !== 'string') return data;
  const text = data.trim();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A PingSource with `dataBase64` may send the base64 text itself.
    const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64').toString('utf8') : '';
    try {
      return JSON.parse(decoded) as unknown;
    } catch {
      throw new ValidationError('data', 'event data must be the JSON of a batch request');
    }
  }
}

function expand(field: string, value: unknown, at: Date): unknown {
  if (typeof value !== 'string') return value;
  try {
    return expandTimePlaceholders(value, at);
  } catch (err) {
    if (err instanceof TemplateError) throw new ValidationError(field, err.message);
    throw err;
  }
}

/**
 * Turns an accepted CloudEvent into a batch request: `{{date}}`-style placeholders in
 * `datasetUrl` and `idempotencyKey` take the event's scheduled minute (UTC), the schedule is
 * the PingSource's name, and the dedupe keys name the event and its tick.
 */
export function scheduledSubmission(event: CloudEventV1<unknown>, policy: RequestPolicy, now: Date = new Date()): ScheduledSubmission {
  if (!ACCEPTED_EVENT_TYPES.includes(event.type)) {
    throw new ValidationError('type', `unsupported event type '${event.type}' (accepted: ${ACCEPTED_EVENT_TYPES.join(', ')})`);
  }
  const sent = event.time ? new Date(event.time) : now;
  const at = scheduledMinute(Number.isNaN(sent.getTime()) ? now : sent);
  const data = eventData(event);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ValidationError('data', 'event data must be a JSON object like the body of POST /v1/batches');
  }
  const body = { ...(data as Record<string, unknown>) };
  body.datasetUrl = expand('datasetUrl', body.datasetUrl, at);
  if (body.idempotencyKey !== undefined) body.idempotencyKey = expand('idempotencyKey', body.idempotencyKey, at);
  const request = parseBatchRequest(body, policy);

  const dedupeKeys = [`ce/${event.source}/${event.id}`];
  const ping = pingSourceOf(event.source);
  if (event.type === PING_EVENT_TYPE) {
    if (ping) request.schedule = ping.name;
    if (event.time) dedupeKeys.push(`tick/${event.source}/${at.toISOString()}`);
  }
  return { request, dedupeKeys };
}
