/**
 * Validates the body of `POST /v1/batches` (and the data of a scheduled CloudEvent) into
 * a {@link BatchRequest}. Every refusal is a {@link ValidationError} naming the field.
 */
import type { Config } from '../shared/config/config.js';
import { hasControlCharacter } from '../shared/control-chars.js';
import { ValidationError } from '../shared/errors.js';
import { modelContext, parseModelRef } from '../shared/models/registry.js';
import { normaliseOutputUrl, outputWithin } from '../shared/io/sinks/registry.js';
import type { RecordSchema } from '../shared/formats/record-format.js';
import { FORMAT_NAMES, inferFormat, isFormatName } from '../shared/formats/registry.js';
import type { BatchRequest, DatasetFormat } from '../shared/types.js';
import { sourceFor } from '../shared/io/sources/registry.js';

/** Largest `chunkSize` a request may ask for. */
export const MAX_CHUNK_SIZE = 1_000_000;

const KNOWN_FIELDS = new Set([
  'datasetUrl',
  'format',
  'model',
  'features',
  'idField',
  'keep',
  'chunkSize',
  'outputUrl',
  'labels',
  'idempotencyKey',
  'schedule',
]);
/** A schedule name: a Kubernetes object name (PingSource, CronJob) or similar. */
const SCHEDULE_NAME = /^[\w.-]{1,253}$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,62}$/;
const MAX_LABELS = 16;
/**
 * Values of the labels that become metric labels (`team`, `project`): a Kubernetes label value
 * (at most 63 letters, digits, `-`, `_`, `.`, alphanumeric at both ends), so they read well
 * in PromQL and cannot smuggle quotes, newlines or megabytes into every series.
 */
const COST_LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
const COST_LABEL_NAMES = new Set(['team', 'project']);

export interface RequestPolicy {
  config: Pick<Config, 'chunkSize' | 'model' | 'modelRoot' | 'outputUrl' | 'datasetAllowedSchemes'> & Partial<Pick<Config, 'modelSha256'>>;
}

/** Field names users pick: any text but control characters, of a sane length. */
const isFieldName = (name: unknown): name is string =>
  typeof name === 'string' && name.length > 0 && name.length <= 256 && !hasControlCharacter(name);
const MAX_FEATURES = 10_000;
const MAX_KEEP = 64;

function fieldNames(input: Record<string, unknown>, field: 'features' | 'keep', max: number): string[] | undefined {
  const value = input[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw new ValidationError(field, `${field} must be a list of 1 to ${max} field names`);
  }
  for (const name of value) {
    if (!isFieldName(name)) throw new ValidationError(field, `${field} holds an invalid field name`);
  }
  if (new Set(value).size !== value.length) throw new ValidationError(field, `${field} names a field twice`);
  return value as string[];
}

/** `features`, `idField` and `keep`: which fields are what; undefined for the reference format. */
function parseSchema(input: Record<string, unknown>): Partial<RecordSchema> | undefined {
  const schema: { -readonly [K in keyof RecordSchema]?: RecordSchema[K] } = {};
  const features = fieldNames(input, 'features', MAX_FEATURES);
  if (features) schema.features = features;
  if (input.idField !== undefined) {
    if (!isFieldName(input.idField)) throw new ValidationError('idField', 'idField must be a field name');
    if (features?.includes(input.idField)) throw new ValidationError('idField', 'idField cannot also be a feature');
    schema.idField = input.idField;
  }
  const keep = fieldNames(input, 'keep', MAX_KEEP);
  if (keep) schema.keep = keep;
  return Object.keys(schema).length > 0 ? schema : undefined;
}

export function parseBatchRequest(body: unknown, { config }: RequestPolicy): BatchRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('body', 'request body must be a JSON object');
  }
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key)) throw new ValidationError(key, `unknown field '${key}'`);
  }

  const { datasetUrl } = input;
  if (typeof datasetUrl !== 'string' || datasetUrl.length === 0 || datasetUrl.length > 4096) {
    throw new ValidationError('datasetUrl', 'datasetUrl must be a URL string of at most 4096 characters');
  }
  let url: URL;
  try {
    url = new URL(datasetUrl);
  } catch {
    throw new ValidationError('datasetUrl', 'datasetUrl is not a valid absolute URL');
  }
  // Throws DatasetRefusedError, a ValidationError naming datasetUrl.
  sourceFor(url, config.datasetAllowedSchemes);

  let format: DatasetFormat = inferFormat(url.pathname);
  if (input.format !== undefined) {
    if (!isFormatName(input.format)) throw new ValidationError('format', `format must be one of ${FORMAT_NAMES.join(', ')}`);
    format = input.format;
  }
  const schema = parseSchema(input);

  let model = config.model;
  if (input.model !== undefined) {
    if (typeof input.model !== 'string' || input.model.length === 0 || input.model.length > 256) {
      throw new ValidationError('model', 'model must be a non-empty string');
    }
    model = input.model;
  }
  try {
    parseModelRef(model, modelContext(config));
  } catch (err) {
    throw new ValidationError('model', (err as Error).message);
  }

  let chunkSize = config.chunkSize;
  if (input.chunkSize !== undefined) {
    if (
      typeof input.chunkSize !== 'number' ||
      !Number.isInteger(input.chunkSize) ||
      input.chunkSize < 1 ||
      input.chunkSize > MAX_CHUNK_SIZE
    ) {
      throw new ValidationError('chunkSize', `chunkSize must be a whole number from 1 to ${MAX_CHUNK_SIZE}`);
    }
    chunkSize = input.chunkSize;
  }

  let outputUrl = normaliseOutputUrl(config.outputUrl);
  if (input.outputUrl !== undefined) {
    if (typeof input.outputUrl !== 'string' || input.outputUrl.length === 0) {
      throw new ValidationError('outputUrl', 'outputUrl must be a URL string');
    }
    try {
      outputUrl = normaliseOutputUrl(input.outputUrl);
    } catch (err) {
      throw new ValidationError('outputUrl', (err as Error).message);
    }
    // By path and, for folders, with symbolic links followed.
    if (!outputWithin(config.outputUrl, outputUrl)) {
      throw new ValidationError('outputUrl', 'outputUrl must be inside the configured OUTPUT_URL');
    }
  }

  const labels: Record<string, string> = {};
  if (input.labels !== undefined) {
    if (typeof input.labels !== 'object' || input.labels === null || Array.isArray(input.labels)) {
      throw new ValidationError('labels', 'labels must be an object of strings');
    }
    const entries = Object.entries(input.labels);
    if (entries.length > MAX_LABELS) throw new ValidationError('labels', `at most ${MAX_LABELS} labels`);
    for (const [name, value] of entries) {
      // `__` names are reserved by Prometheus (and `__proto__` would not be stored as a label).
      if (!LABEL_NAME.test(name) || name.startsWith('__')) {
        throw new ValidationError(`labels.${name}`, 'label names are letters, digits and _, not starting with __');
      }
      if (typeof value !== 'string' || value.length > 128) {
        throw new ValidationError(`labels.${name}`, 'label values are strings of at most 128 characters');
      }
      if (COST_LABEL_NAMES.has(name) && !COST_LABEL_VALUE.test(value)) {
        throw new ValidationError(
          `labels.${name}`,
          `labels.${name} is a metric label: at most 63 letters, digits, - _ or ., starting and ending with a letter or digit`,
        );
      }
      labels[name] = value;
    }
  }

  const request: BatchRequest = { datasetUrl: url.toString(), format, model, chunkSize, outputUrl, labels };
  if (schema) request.schema = schema;
  if (input.idempotencyKey !== undefined) {
    if (typeof input.idempotencyKey !== 'string' || !/^[\w.:-]{1,200}$/.test(input.idempotencyKey)) {
      throw new ValidationError('idempotencyKey', 'idempotencyKey must be 1-200 characters of letters, digits, _ . : -');
    }
    request.idempotencyKey = input.idempotencyKey;
  }
  if (input.schedule !== undefined) {
    if (typeof input.schedule !== 'string' || !SCHEDULE_NAME.test(input.schedule)) {
      throw new ValidationError('schedule', 'schedule must be a name of letters, digits, _ . -');
    }
    request.schedule = input.schedule;
  }
  return request;
}
