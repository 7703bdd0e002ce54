/**
 * The producer's HTTP API (`/v1/batches`, health routes). Errors are JSON
 * `{error: {code, message, field?}}` with the status their class carries; anything
 * unexpected is a 500 that names no internals.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { BatchStore } from '../shared/batch/batch-store.js';
import type { Config } from '../shared/config/config.js';
import {
  BatchinferError,
  NotFoundError,
  PayloadTooLargeError,
  RequestAbortedError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
} from '../shared/errors.js';
import { answerHealth, sendJson } from '../shared/http/health-server.js';
import { redactUrl } from '../shared/observability/redact.js';
import { extractIncomingTrace } from '../shared/events/trace-context.js';
import { recordError, tracer } from '../shared/observability/tracing.js';
import type { BatchView } from '../shared/types.js';
import { parseBatchRequest } from './batch-request.js';
import { OPENAPI_JSON } from './openapi/document.js';
import type { BatchService } from './batch-service.js';
import { readCloudEvent, scheduledSubmission } from './scheduled-event.js';

export interface ApiDeps {
  config: Config;
  store: BatchStore;
  service: BatchService;
  logger: Logger;
  ready: () => boolean;
}

export type Route = (req: http.IncomingMessage, res: http.ServerResponse, params: string[]) => Promise<void>;

/**
 * A route: method, path pattern, handler, and options: `public` routes need no bearer token
 * (when one is set); `template` names the route's span (`/v1/batches/:id`). Without a template
 * the span is named by the method alone, so that ids in paths never become span names.
 */
export type RouteEntry = [method: string, pattern: RegExp, handler: Route, options?: { public?: boolean; template?: string }];

/**
 * How much of a refused body is read and thrown away after answering, so the client gets to
 * read the answer: closing the connection while it still writes makes fetch (undici) report
 * EPIPE instead of the 413. Past this, the connection is cut after all.
 */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Reads a request body of at most `limitBytes`. Past the limit it rejects with
 * {@link PayloadTooLargeError} at once, but leaves the request readable (never destroyed), so
 * the answer can be sent and the rest drained (see {@link discardBody}).
 */
export function readBody(req: http.IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) return Promise.reject(new PayloadTooLargeError(limitBytes));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (part: Buffer): void => {
      size += part.length;
      if (size <= limitBytes) parts.push(part);
      else {
        stop();
        reject(new PayloadTooLargeError(limitBytes));
      }
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(parts));
    };
    const onClose = (): void => {
      stop();
      reject(new RequestAbortedError());
    };
    const onError = (err: Error): void => {
      stop();
      reject(new RequestAbortedError({ cause: err }));
    };
    function stop(): void {
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onError);
    }
    req.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onError);
  });
}

/** Reads and drops the rest of a request's body, up to {@link DRAIN_LIMIT_BYTES}; then cuts the connection. */
export function discardBody(req: http.IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  let drained = 0;
  req.on('data', (part: Buffer) => {
    drained += part.length;
    if (drained > DRAIN_LIMIT_BYTES) req.socket.destroy();
  });
  req.resume();
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ValidationError('body', 'request body is not valid JSON');
  }
}

/**
 * Constant-time bearer token check (hashing first makes the lengths equal, so neither the
 * content nor the length of the token leaks through timing). The scheme name is
 * case-insensitive (RFC 9110).
 */
export function checkBearer(req: http.IncomingMessage, token: string | undefined): void {
  if (!token) return;
  const match = /^bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  const given = match?.[1] ?? '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  if (!timingSafeEqual(a, b)) throw new UnauthorizedError();
}

export function batchLinks(id: string): Record<string, string> {
  return { self: `/v1/batches/${id}` };
}

/** The status API's view: any token holder may read it, so a dataset URL's secrets are cut. */
export function publicView(view: BatchView): BatchView & { links: Record<string, string> } {
  return { ...view, datasetUrl: redactUrl(view.datasetUrl), links: batchLinks(view.id) };
}

export function sendError(res: http.ServerResponse, err: unknown, logger: Logger): void {
  if (err instanceof BatchinferError) {
    const body: Record<string, unknown> = { code: err.code, message: err.message };
    if (err instanceof ValidationError) body.field = err.field;
    const headers: http.OutgoingHttpHeaders = {};
    if (err instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer';
    if (err instanceof TooManyRequestsError) headers['retry-after'] = String(err.retryAfterSeconds);
    if (!res.headersSent) sendJson(res, err.httpStatus, { error: body }, headers);
    return;
  }
  logger.error({ err }, 'request failed');
  if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
}

/**
 * The SERVER span of one request, continuing the trace the request came with (see
 * {@link extractIncomingTrace}); it ends when the response is sent. The handler runs inside
 * it, so an ingest started by the request is part of the same trace.
 */
function startServerSpan(req: http.IncomingMessage, res: http.ServerResponse, template: string | undefined, path: string): Span {
  const incoming = extractIncomingTrace(req.headers);
  const method = req.method ?? 'GET';
  const span = tracer.startSpan(
    template ? `${method} ${template}` : method,
    {
      kind: SpanKind.SERVER,
      links: incoming.links,
      attributes: {
        'http.request.method': method,
        'url.path': path,
        'url.scheme': 'http',
        ...(template ? { 'http.route': template } : {}),
        ...(req.headers['user-agent'] ? { 'user_agent.original': req.headers['user-agent'] } : {}),
      },
    },
    incoming.context,
  );
  res.once('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  return span;
}

export function createApiHandler(deps: ApiDeps, extraRoutes: RouteEntry[] = []): http.RequestListener {
  const submit: Route = async (req, res) => {
    const body = parseJson(await readBody(req, deps.config.maxRequestBytes));
    const request = parseBatchRequest(body, { config: deps.config });
    const result = await deps.service.submit(request);
    sendJson(res, 202, { id: result.id, status: result.status, links: batchLinks(result.id) }, { location: `/v1/batches/${result.id}` });
  };
  const getBatch: Route = async (_req, res, [id]) => {
    const view = id ? await deps.store.get(id) : null;
    if (!view) throw new NotFoundError(`no batch ${id}`);
    sendJson(res, 200, publicView(view));
  };
  // A scheduled run (PingSource) as a CloudEvent. Answered right after validation: the
  // ping adapter drops a tick after a few fast retries. The reply is plain JSON without
  // ce- headers, so Knative does not treat it as a reply event.
  const receiveEvent: Route = async (req, res) => {
    const body = await readBody(req, deps.config.maxRequestBytes);
    const event = readCloudEvent(req.headers, body);
    const { request, dedupeKeys } = scheduledSubmission(event, { config: deps.config });
    // The request span already continues a `traceparent`/`ce-traceparent` header; a
    // structured event's own `traceparent` attribute parents the ingest when no header did.
    const headerTraced = Boolean(req.headers.traceparent ?? req.headers['ce-traceparent']);
    const traceContext = headerTraced ? undefined : extractIncomingTrace(req.headers, event).context;
    // Never shed: a refused tick is a lost scheduled run.
    const result = await deps.service.submit(request, { dedupeKeys, scheduled: true, ...(traceContext ? { traceContext } : {}) });
    deps.logger.info(
      { batch_id: result.id, ce_source: event.source, ce_id: event.id, schedule: request.schedule, created: result.created },
      result.created ? 'scheduled batch started' : 'duplicate event: batch already exists',
    );
    sendJson(res, 202, { id: result.id, status: result.status });
  };
  // The API's description holds no configuration or secret: public, like the health routes.
  const openApi: Route = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(OPENAPI_JSON) });
    res.end(OPENAPI_JSON);
    return Promise.resolve();
  };
  const routes: RouteEntry[] = [
    ['GET', /^\/openapi\.json$/, openApi, { public: true, template: '/openapi.json' }],
    ['POST', /^\/v1\/batches\/?$/, submit, { template: '/v1/batches' }],
    ['GET', /^\/v1\/batches\/([\w-]{1,100})\/?$/, getBatch, { template: '/v1/batches/:id' }],
    ['POST', /^\/$/, receiveEvent, { public: !deps.config.cloudEventsRequireToken, template: '/' }],
    ...extraRoutes,
  ];

  return (req, res) => {
    // HTTP/1.1 requires Host (RFC 9112 §3.2); the server lets such requests through to here.
    if (req.headers.host === undefined && req.httpVersion === '1.1') {
      sendJson(res, 400, { error: { code: 'BAD_REQUEST', message: 'missing Host header' } }, { connection: 'close' });
      req.resume();
      return;
    }
    if (answerHealth(req, res, deps.ready)) return;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const matching = routes.filter(([, pattern]) => pattern.test(path));
    // HEAD is GET without the body (RFC 9110); Node leaves the body out of a HEAD response.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const route = matching.find(([m]) => m === method);
    if (!route) {
      const status = matching.length > 0 ? 405 : 404;
      const methods = matching.flatMap(([m]) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
      sendJson(
        res,
        status,
        { error: { code: status === 405 ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND', message: `no route ${req.method} ${path}` } },
        status === 405 ? { allow: methods.join(', ') } : {},
      );
      discardBody(req);
      return;
    }
    const [, pattern, handler, options] = route;
    const params = pattern.exec(path)?.slice(1) ?? [];
    const span = startServerSpan(req, res, options?.template, path);
    context.with(trace.setSpan(context.active(), span), () => {
      Promise.resolve()
        .then(() => checkBearer(req, options?.public ? undefined : deps.config.apiToken))
        .then(() => handler(req, res, params))
        .catch((err: unknown) => {
          if (!(err instanceof BatchinferError)) recordError(span, err);
          sendError(res, err, deps.logger);
          discardBody(req);
        });
    });
  };
}
