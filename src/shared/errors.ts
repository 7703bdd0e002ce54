/**
 * Errors users can meet, each with a stable `code` (tests and clients match on it, never
 * on message text) and, where it reaches the HTTP API, a status.
 */
export class BatchinferError extends Error {
  readonly code: string;
  readonly httpStatus: number;

  constructor(code: string, message: string, httpStatus = 500, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = httpStatus;
  }
}

/** An environment variable has a malformed value. Fails the process at start. */
export class ConfigError extends BatchinferError {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('CONFIG_INVALID', `${variable}: ${message}`);
    this.variable = variable;
  }
}

/** A request field is missing or malformed; `field` names it. */
export class ValidationError extends BatchinferError {
  readonly field: string;
  constructor(field: string, message: string, code = 'VALIDATION_FAILED') {
    super(code, message, 400);
    this.field = field;
  }
}

export class NotFoundError extends BatchinferError {
  constructor(message: string) {
    super('NOT_FOUND', message, 404);
  }
}

export class UnauthorizedError extends BatchinferError {
  constructor() {
    super('UNAUTHORIZED', 'missing or invalid bearer token', 401);
  }
}

export class PayloadTooLargeError extends BatchinferError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', `request body exceeds ${limitBytes} bytes`, 413);
  }
}

/** The client went away before its request body arrived whole: nobody is left to answer, nothing failed here. */
export class RequestAbortedError extends BatchinferError {
  constructor(options?: ErrorOptions) {
    super('REQUEST_ABORTED', 'the client closed the connection before sending the whole request', 400, options);
  }
}

/**
 * The producer is at its limit of concurrent ingests (`MAX_CONCURRENT_INGESTS`): shedding
 * the request is cheaper than letting every ingest slow down. Clients retry after
 * `retryAfterSeconds` (sent as `Retry-After`).
 */
export class TooManyRequestsError extends BatchinferError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', `too many batches are being ingested; retry after ${retryAfterSeconds} s`, 429);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The batch is not in a state that allows the request: `BATCH_NOT_RETRYABLE` (retrying a
 * batch that did not fail on chunks, or whose failed chunks are gone), `BATCH_FINISHED`
 * (cancelling a batch that already ended).
 */
export class BatchStateError extends BatchinferError {
  constructor(code: 'BATCH_NOT_RETRYABLE' | 'BATCH_FINISHED', message: string) {
    super(code, message, 409);
  }
}

/** The dataset could not be read (unreachable, HTTP error, too large, too slow). */
export class DatasetError extends BatchinferError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, 422, options);
  }
}

/**
 * A dataset URL was refused by policy (scheme, private, loopback, link-local or metadata
 * address). At submission it is a 400 naming `datasetUrl`; during ingest (a redirect hop
 * or a re-resolved name refused at connect time) it is the reason the batch failed.
 */
export class DatasetRefusedError extends ValidationError {
  constructor(message: string) {
    super('datasetUrl', message, 'DATASET_URL_REFUSED');
  }
}

/** Codes of {@link ModelError}: what users can do about a model that does not work differs. */
export type ModelErrorCode =
  /** The reference names no model that exists (unknown kind, missing file or object). */
  | 'MODEL_NOT_FOUND'
  /** The model exists but cannot be used (malformed reference, corrupt file, digest mismatch). */
  | 'MODEL_INVALID'
  /** The model does not take the records' shape (feature count, input names). */
  | 'MODEL_INPUT_MISMATCH';

/**
 * A model reference could not be resolved or loaded. It concerns the whole batch: at submit
 * it is a 400 naming `model`; in a consumer it fails the batch fast with its code.
 */
export class ModelError extends BatchinferError {
  declare readonly code: ModelErrorCode;
  constructor(message: string, options?: ErrorOptions & { code?: ModelErrorCode }) {
    super(options?.code ?? 'MODEL_INVALID', message, 400, options);
  }
}

/**
 * An output location could not be used: `OUTPUT_INVALID` (not a location we can write to at
 * all), `OUTPUT_NOT_WRITABLE` (it exists, or would, but writing there fails).
 */
export class OutputError extends BatchinferError {
  constructor(message: string, options?: ErrorOptions & { code?: 'OUTPUT_INVALID' | 'OUTPUT_NOT_WRITABLE' }) {
    super(options?.code ?? 'OUTPUT_INVALID', message, 400, options);
  }
}

/**
 * A chunk names an output location outside the consumer's own `OUTPUT_URL` (or a batch id
 * that is not a plain folder name). The producer never enqueues one; a consumer still
 * checks, since anyone who can write to Redis can enqueue a chunk. Fails the chunk for good.
 */
export class OutputRefusedError extends BatchinferError {
  constructor(message: string) {
    super('OUTPUT_REFUSED', message, 400);
  }
}

/** A request that should be a CloudEvent is not one (missing or malformed attributes). */
export class CloudEventError extends BatchinferError {
  constructor(message: string) {
    super('CLOUDEVENT_INVALID', message, 400);
  }
}

/** A `{{placeholder}}` in a scheduled dataset URL or idempotency key is not one we know. */
export class TemplateError extends BatchinferError {
  constructor(message: string) {
    super('TEMPLATE_INVALID', message, 400);
  }
}

/**
 * A value the store was asked to write is not a finite number (NaN, ±Infinity: a cost,
 * latency, time or prediction sum gone wrong). Refused before Redis sees it: Lua would turn
 * it into "nan" or "inf" and every total it joins would be poisoned for good. `field` names it.
 */
export class AccountingValueError extends BatchinferError {
  readonly field: string;
  constructor(field: string, value: number) {
    super('ACCOUNTING_VALUE_INVALID', `${field} must be a finite number, got ${value}`);
    this.field = field;
  }
}

/** Redis could not be reached or started. */
export class RedisUnavailableError extends BatchinferError {
  constructor(message: string, options?: ErrorOptions) {
    super('REDIS_UNAVAILABLE', message, 503, options);
  }
}

export function isBatchinferError(err: unknown): err is BatchinferError {
  return err instanceof BatchinferError;
}
