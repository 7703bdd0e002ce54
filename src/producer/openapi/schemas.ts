/**
 * JSON Schemas (draft 2020-12, OpenAPI 3.1's dialect) of the producer API's bodies: what
 * `components.schemas` of `/openapi.json` holds. Response objects are closed
 * (`additionalProperties: false`), so a field added to an answer without being documented
 * here fails the test that validates every answer against this document.
 */
import { FORMAT_NAMES } from '../../shared/formats/registry.js';
import { MAX_CHUNK_SIZE } from '../batch-request.js';
import { TERMINAL_STATUSES } from '../../shared/types.js';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const count: Schema = { type: 'integer', minimum: 0 };
const usd: Schema = { type: 'number', minimum: 0 };
const instant: Schema = { type: 'string', format: 'date-time' };
const BATCH_ID: Schema = { type: 'string', pattern: '^[\\w-]{1,100}$' };
const fieldNames = (max: number): Schema => ({
  type: 'array',
  minItems: 1,
  maxItems: max,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 256 },
});

const BATCH_REQUEST: Schema = {
  type: 'object',
  description: 'A batch to run. Unknown fields are refused (400 naming the field).',
  required: ['datasetUrl'],
  additionalProperties: false,
  properties: {
    datasetUrl: {
      type: 'string',
      minLength: 1,
      maxLength: 4096,
      description:
        'Absolute URL of the dataset: a scheme in `DATASET_ALLOWED_SCHEMES` (services: http, https, s3). Hosts that are private, loopback, link-local or metadata addresses are refused (`DATASET_URL_REFUSED`) unless allowed by `DATASET_ALLOWED_CIDRS` or `DATASET_ALLOW_PRIVATE_NETWORKS`.',
      examples: ['https://data.example.com/2026-12-01.jsonl.gz', 's3://datasets/scores/2026-12-01/'],
    },
    format: { enum: [...FORMAT_NAMES], description: 'Record format; default: from the URL (`.csv`, `.csv.gz` is CSV, else JSONL).' },
    model: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: 'Model reference (`sum`, `linear:<file>`, ...); default: `MODEL`.',
      examples: ['sum', 'linear:linear-3.json'],
    },
    features: { ...fieldNames(10_000), description: 'Named feature fields (objects or CSV columns), in model input order.' },
    idField: { type: 'string', minLength: 1, maxLength: 256, description: 'Field holding the record id; not also a feature.' },
    keep: { ...fieldNames(64), description: 'Fields copied to each output line under `input`.' },
    chunkSize: { type: 'integer', minimum: 1, maximum: MAX_CHUNK_SIZE, description: 'Records per chunk; default: `CHUNK_SIZE`.' },
    outputUrl: {
      type: 'string',
      minLength: 1,
      description: 'Output location inside `OUTPUT_URL` (a folder or `s3://bucket/prefix`); default: `OUTPUT_URL`.',
    },
    labels: {
      type: 'object',
      description: 'Cost attribution labels (`team`, `project`, ...): at most 16.',
      maxProperties: 16,
      propertyNames: { pattern: '^(?!__)[a-zA-Z_][a-zA-Z0-9_]{0,62}$' },
      additionalProperties: { type: 'string', maxLength: 128 },
      examples: [{ team: 'fraud', project: 'nightly' }],
    },
    idempotencyKey: {
      type: 'string',
      pattern: '^[\\w.:-]{1,200}$',
      description: 'A second submission with the same key returns the first batch (within `BATCH_TTL_SECONDS`).',
    },
    schedule: { type: 'string', pattern: '^[\\w.-]{1,253}$', description: 'Name of the schedule that submitted the batch.' },
  },
};

const LINKS: Schema = {
  type: 'object',
  required: ['self'],
  additionalProperties: false,
  properties: { self: { type: 'string', description: 'The batch status route, `/v1/batches/{id}`.' } },
};

const BATCH_STATUS: Schema = {
  enum: ['ingesting', 'running', ...TERMINAL_STATUSES],
  description: '`ingesting` → `running` → `completed` | `failed` | `cancelled`; a retry takes a `failed` batch back to `running`.',
};

const BATCH_ACCEPTED: Schema = {
  type: 'object',
  required: ['id', 'status', 'links'],
  additionalProperties: false,
  properties: { id: BATCH_ID, status: ref('BatchStatus'), links: ref('Links') },
};

const EVENT_ACCEPTED: Schema = {
  type: 'object',
  description: 'Plain JSON without `ce-` headers, so Knative sends no reply event.',
  required: ['id', 'status'],
  additionalProperties: false,
  properties: { id: BATCH_ID, status: ref('BatchStatus') },
};

const counts = (names: string[], nullable: string): Schema => ({
  type: 'object',
  required: names,
  additionalProperties: false,
  properties: Object.fromEntries(
    names.map((name) => [
      name,
      name === nullable ? { type: ['integer', 'null'], minimum: 0, description: '`null` until ingest has finished.' } : count,
    ]),
  ),
});

const BATCH: Schema = {
  type: 'object',
  required: [
    'id',
    'status',
    'model',
    'datasetUrl',
    'labels',
    'chunks',
    'records',
    'cost',
    'output',
    'failedChunks',
    'failures',
    'createdAt',
    'ingestedAt',
    'completedAt',
    'links',
  ],
  additionalProperties: false,
  properties: {
    id: BATCH_ID,
    status: ref('BatchStatus'),
    model: { type: 'string' },
    datasetUrl: { type: 'string', description: 'With any password and query string cut (presigned URLs carry signatures there).' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    chunks: counts(['total', 'enqueued', 'completed', 'failed'], 'total'),
    records: counts(['total', 'read', 'succeeded', 'failed'], 'total'),
    cost: {
      type: 'object',
      description: 'See docs/cost.md.',
      required: ['usd', 'cpuSeconds', 'allocatedCpuSeconds', 'wallSeconds', 'usdPerRecord', 'efficiency'],
      additionalProperties: false,
      properties: {
        usd: { ...usd, description: 'Allocated cost of every chunk attempt.' },
        cpuSeconds: { type: 'number', minimum: 0, description: 'CPU seconds the consumers used.' },
        allocatedCpuSeconds: { type: 'number', minimum: 0, description: 'CPU seconds allocated (limit × wall time).' },
        wallSeconds: { type: 'number', minimum: 0, description: 'Chunk wall time, summed over attempts.' },
        usdPerRecord: usd,
        efficiency: { type: ['number', 'null'], minimum: 0, description: 'cpuSeconds / allocatedCpuSeconds; `null` before any chunk ran.' },
      },
    },
    output: {
      type: 'object',
      required: ['url', 'parts'],
      additionalProperties: false,
      properties: { url: { type: 'string', description: "The batch's own folder, `<outputUrl>/<id>`." }, parts: count },
    },
    failedChunks: { type: 'array', items: count, description: 'Indexes of chunks that failed for good.' },
    createdAt: instant,
    ingestedAt: { type: ['string', 'null'], format: 'date-time', description: 'When the dataset was read to its end.' },
    completedAt: { type: ['string', 'null'], format: 'date-time' },
    schedule: { type: 'string', description: 'The schedule (PingSource or CronJob) that started the batch.' },
    error: {
      description: 'Why the batch failed or was cancelled: its first root cause (see docs/batch-status.md). Absent otherwise.',
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', examples: ['MODEL_NOT_FOUND', 'STALLED', 'DATASET_NOT_FOUND', 'BATCH_CANCELLED'] },
        message: { type: 'string' },
        chunkIndex: { ...count, description: 'The first chunk that failed for good, when chunks failed.' },
        attempts: { ...count, description: "That chunk's attempts." },
      },
    },
    failures: { type: 'object', description: 'Chunks failed for good right now, by failure code.', additionalProperties: count },
    errorCode: { type: 'string', description: 'The code of `error`.', examples: ['DATASET_URL_REFUSED', 'DATASET_TOO_LARGE'] },
    traceId: { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'The OpenTelemetry trace of the batch, when tracing was on.' },
    links: ref('Links'),
  },
};

const RETRY_RESULT: Schema = {
  type: 'object',
  required: ['id', 'status', 'retried', 'unavailable', 'links'],
  additionalProperties: false,
  properties: {
    id: BATCH_ID,
    status: { const: 'running' },
    retried: { type: 'array', items: count, description: 'Chunk indexes queued again.' },
    unavailable: { type: 'array', items: count, description: 'Failed chunks whose job is gone: they stay failed.' },
    links: ref('Links'),
  },
};

const CANCEL_RESULT: Schema = {
  type: 'object',
  required: ['id', 'status', 'removedChunks', 'links'],
  additionalProperties: false,
  properties: {
    id: BATCH_ID,
    status: { const: 'cancelled' },
    removedChunks: { ...count, description: 'Queued chunks removed (chunks being processed finish).' },
    links: ref('Links'),
  },
};

const ERROR: Schema = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', description: 'Stable: match on it, never on the message.' },
        message: { type: 'string' },
        field: { type: 'string', description: 'The request field at fault (400s): `datasetUrl`, `labels.team`, `body`, ...' },
      },
    },
  },
};

const HEALTH: Schema = {
  type: 'object',
  required: ['status'],
  additionalProperties: false,
  properties: { status: { enum: ['ok', 'ready', 'not ready'] } },
};

export const SCHEMAS: Record<string, Schema> = {
  BatchRequest: BATCH_REQUEST,
  BatchStatus: BATCH_STATUS,
  Links: LINKS,
  BatchAccepted: BATCH_ACCEPTED,
  EventAccepted: EVENT_ACCEPTED,
  Batch: BATCH,
  RetryResult: RETRY_RESULT,
  CancelResult: CANCEL_RESULT,
  Error: ERROR,
  Health: HEALTH,
};
