/**
 * The producer API as an OpenAPI 3.1 document, served at `GET /openapi.json`. Written by
 * hand next to the routes (`http-api.ts`, `batch-control-routes.ts`) and kept true by
 * `test/integration/openapi-contract.test.ts`, which drives every route of a real producer and
 * validates each answer against this document.
 */
import { SCHEMAS } from './schemas.js';

type Json = Record<string, unknown>;

const json = (schema: Json): Json => ({ 'application/json': { schema } });
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** An error answer whose `code` is one of `codes` (so clients can switch on it). */
function failure(description: string, codes: string[], headers?: Json): Json {
  const schema = {
    allOf: [
      ref('Error'),
      { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string', enum: codes } } } } },
    ],
  };
  return {
    description: `${description} Codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
    content: json(schema),
    ...(headers ? { headers } : {}),
  };
}

const header = (description: string, schema: Json = { type: 'string' }): Json => ({ description, schema });

/** Answers any route that reads a request body (or runs at all) can give. */
const COMMON: Json = {
  '401': failure('`API_TOKEN` is set and the bearer token is missing or wrong.', ['UNAUTHORIZED'], {
    'WWW-Authenticate': header('`Bearer`'),
  }),
  '500': failure('Something failed inside the producer (Redis down, a bug); the message names no internals.', ['INTERNAL']),
};
const BODY_LIMITS: Json = {
  '413': failure('The body is larger than `MAX_REQUEST_BYTES`.', ['PAYLOAD_TOO_LARGE']),
};

/** 400 codes of a batch request, wherever it comes from. */
const REQUEST_CODES = [
  'VALIDATION_FAILED',
  'DATASET_URL_REFUSED',
  'DATASET_HOST_UNKNOWN',
  'DATASET_NOT_FOUND',
  'DATASET_FORBIDDEN',
  'OUTPUT_INVALID',
  'OUTPUT_NOT_WRITABLE',
];
/** Refusals of the HTTP layer itself (no Host header, malformed request, client gone). */
const TRANSPORT_CODES = ['BAD_REQUEST', 'REQUEST_ABORTED'];

const BATCH_ID_PARAM: Json = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Batch id. A path whose id has other characters than letters, digits, `_` and `-` is `404 NOT_FOUND` (no such route).',
  schema: { type: 'string', pattern: '^[\\w-]{1,100}$' },
};
const UNKNOWN_BATCH = failure('No batch with this id (or it expired after `BATCH_TTL_SECONDS`).', ['NOT_FOUND']);
const LOCATION = { Location: header('The batch status route, `/v1/batches/{id}`.') };

const ceHeader = (name: string, description: string): Json => ({
  name,
  in: 'header',
  required: false,
  description,
  schema: { type: 'string' },
});

const PATHS: Json = {
  '/v1/batches': {
    post: {
      operationId: 'submitBatch',
      summary: 'Submit a batch',
      description:
        'Validates the request, checks the dataset host (and, for object storage, that the dataset exists) and that the output location takes writes, answers 202 and ingests in the background. Poll the `Location`.',
      requestBody: { required: true, content: json(ref('BatchRequest')) },
      responses: {
        '202': {
          description:
            'Accepted: the batch exists and its ingest has started (or the idempotency key named an earlier batch, which is returned).',
          headers: LOCATION,
          content: json(ref('BatchAccepted')),
        },
        '400': failure('The body is not JSON, or a field is wrong; `field` names it.', [...REQUEST_CODES, ...TRANSPORT_CODES]),
        ...BODY_LIMITS,
        '429': failure(
          '`MAX_CONCURRENT_INGESTS` datasets are being read. Retry after `Retry-After` seconds, with the same `idempotencyKey`: still one batch.',
          ['TOO_MANY_REQUESTS'],
          { 'Retry-After': header('Seconds to wait.', { type: 'string', pattern: '^\\d+$' }) },
        ),
        ...COMMON,
      },
    },
  },
  '/v1/batches/{id}': {
    parameters: [BATCH_ID_PARAM],
    get: {
      operationId: 'getBatch',
      summary: 'Status of a batch',
      description: 'Counts, cost, output folder and, for a batch that ended badly, the reason. Also answers `HEAD`.',
      responses: { '200': { description: 'The batch.', content: json(ref('Batch')) }, '404': UNKNOWN_BATCH, ...COMMON },
    },
    delete: {
      operationId: 'cancelBatch',
      summary: 'Cancel a batch',
      description:
        'Stops the batch and its ingest and removes its queued chunks; consumers skip any left. Sends `batch.completed` with status `cancelled` to `K_SINK` before answering.',
      responses: {
        '200': { description: 'Cancelled.', content: json(ref('CancelResult')) },
        '404': UNKNOWN_BATCH,
        '409': failure('The batch already ended.', ['BATCH_FINISHED']),
        ...COMMON,
      },
    },
  },
  '/v1/batches/{id}/retry': {
    parameters: [BATCH_ID_PARAM],
    post: {
      operationId: 'retryBatch',
      summary: 'Run the failed chunks of a batch again',
      description:
        'On a `failed` batch: re-runs its failed chunks, and only those (their jobs are kept a week). On a `running` batch: re-runs chunks stuck failed in the queue but never accounted. No body is read.',
      responses: {
        '202': {
          description: 'The chunks are queued again; the batch is `running`.',
          headers: LOCATION,
          content: json(ref('RetryResult')),
        },
        '404': UNKNOWN_BATCH,
        '409': failure(
          'Nothing to retry: the batch completed, was cancelled, failed before its chunks ran, or its failed chunks are gone.',
          ['BATCH_NOT_RETRYABLE'],
        ),
        ...COMMON,
      },
    },
  },
  '/': {
    post: {
      operationId: 'receiveCloudEvent',
      summary: 'Receive a CloudEvent (Knative PingSource)',
      description:
        'A `dev.knative.sources.ping` CloudEvent, binary mode (`ce-*` headers, body = data) or structured mode (`application/cloudevents+json`), whose data is a `BatchRequest`. `{{date}}`-style placeholders in `datasetUrl` and `idempotencyKey` take the scheduled minute. The same event (`source` + `id`), or the same tick under another id, returns the first batch. Never shed with 429. Needs the bearer token only when `API_TOKEN` is set and `CLOUDEVENTS_REQUIRE_TOKEN` is true (the default).',
      security: [{}, { bearerToken: [] }],
      parameters: [
        ceHeader('ce-specversion', 'Binary mode: `1.0`.'),
        ceHeader('ce-type', 'Binary mode: `dev.knative.sources.ping`.'),
        ceHeader('ce-source', 'Binary mode: `/apis/v1/namespaces/<ns>/pingsources/<name>`; the name becomes the batch `schedule`.'),
        ceHeader('ce-id', 'Binary mode: one per tick (retries of a tick reuse it).'),
        ceHeader('ce-time', 'Binary mode: when the tick fired; its minute (UTC) fills the placeholders.'),
      ],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { ...ref('BatchRequest'), description: 'Binary mode: the data.' } },
          'application/cloudevents+json': {
            schema: {
              type: 'object',
              description: 'Structured mode: the whole event, its `data` a BatchRequest.',
              required: ['specversion', 'type', 'source', 'id'],
              properties: {
                specversion: { const: '1.0' },
                type: { const: 'dev.knative.sources.ping' },
                source: { type: 'string' },
                id: { type: 'string' },
                time: { type: 'string', format: 'date-time' },
                data: ref('BatchRequest'),
                data_base64: { type: 'string', description: 'Base64 of the data JSON, instead of `data`.' },
              },
            },
          },
        },
      },
      responses: {
        '202': { description: 'Accepted (or a duplicate: the first batch).', content: json(ref('EventAccepted')) },
        '400': failure('Not a CloudEvent (`CLOUDEVENT_INVALID`), another type (`field: type`), or bad data (`field` names it).', [
          'CLOUDEVENT_INVALID',
          ...REQUEST_CODES,
          ...TRANSPORT_CODES,
        ]),
        ...BODY_LIMITS,
        ...COMMON,
      },
    },
  },
  '/healthz': {
    get: {
      operationId: 'health',
      summary: 'Liveness',
      security: [],
      responses: { '200': { description: 'The process is alive.', content: json(ref('Health')) } },
    },
  },
  '/readyz': {
    get: {
      operationId: 'readiness',
      summary: 'Readiness',
      security: [],
      responses: {
        '200': { description: 'Redis is reachable and the producer is not draining.', content: json(ref('Health')) },
        '503': { description: 'Not ready: Redis unreachable, or draining on SIGTERM.', content: json(ref('Health')) },
      },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'openApiDocument',
      summary: 'This document',
      security: [],
      responses: { '200': { description: 'The OpenAPI 3.1 document of this API.', content: json({ type: 'object' }) } },
    },
  },
};

export const OPENAPI_DOCUMENT: Json = {
  openapi: '3.1.0',
  info: {
    title: 'batchinfer producer API',
    version: '1.0.0',
    description:
      'Submit, watch, retry and cancel batch inference runs. Every error is `{"error": {"code", "message", "field"?}}`. Other answers of any route: `404 NOT_FOUND` for an unknown path, `405 METHOD_NOT_ALLOWED` with `Allow` for a known path with another method, `408 REQUEST_TIMEOUT` and `431 HEADERS_TOO_LARGE` from the HTTP layer. Every request continues the trace of its `traceparent` header.',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
  security: [{ bearerToken: [] }],
  paths: PATHS,
  components: {
    schemas: SCHEMAS,
    securitySchemes: {
      bearerToken: {
        type: 'http',
        scheme: 'bearer',
        description: 'The value of `API_TOKEN`. Only enforced when `API_TOKEN` is set; without it every route is open.',
      },
    },
    responses: {
      NotFound: failure('No such route.', ['NOT_FOUND']),
      MethodNotAllowed: failure('The path exists; the method does not (see `Allow`).', ['METHOD_NOT_ALLOWED'], {
        Allow: header('The methods the path takes.'),
      }),
      HttpLayerRefusal: failure('Refused by the HTTP layer before any route ran.', ['BAD_REQUEST', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE']),
    },
  },
};

/** The document as served: serialised once. */
export const OPENAPI_JSON = JSON.stringify(OPENAPI_DOCUMENT);
