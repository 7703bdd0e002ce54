/**
 * Shared vocabulary of batchinfer.
 *
 * Glossary
 * - **batch**: one submitted dataset, scored by one model, with one output folder.
 * - **record**: one line of a JSONL dataset (or one row of a CSV), `{id, features}`.
 * - **chunk**: a run of consecutive records of a batch, carried by one BullMQ job as a
 *   structured-mode CloudEvent. Chunks are the unit of retry and of autoscaling.
 * - **part**: the output file of one chunk, `part-NNNNN.jsonl`, written whole so a retried
 *   chunk replaces it instead of appending to it.
 * - **record error**: a record that could not be scored (bad JSON, wrong shape). It goes to
 *   `errors-NNNNN.jsonl` with its 1-based line number; it does not fail the batch.
 * - **chunk failure**: a chunk whose processing kept failing after its retries; its records
 *   are reported as errors and the batch ends `failed`.
 * - **allocated cost**: what the consumer's resource limits cost for the wall time a chunk
 *   took (the reference lab's formula). **Used CPU**: CPU seconds actually consumed.
 */

import type { RecordSchema } from './formats/record-format.js';
import type { FormatName } from './formats/registry.js';

/** Lifecycle of a batch. Terminal states: completed, failed, cancelled. */
export type BatchStatus = 'ingesting' | 'running' | 'completed' | 'failed' | 'cancelled';

export const TERMINAL_STATUSES: readonly BatchStatus[] = ['completed', 'failed', 'cancelled'];

/** A registered dataset format's name (`jsonl`, `csv`): see `formats/registry.ts`. */
export type DatasetFormat = FormatName;

/** A record's id: JSONL keeps its JSON type (string or number), CSV ids are text. */
export type RecordId = string | number;

/**
 * Why a record could not be scored (the `code` of its line in `errors-NNNNN.jsonl`). Stable:
 * users count and filter error files by it.
 */
export type RecordErrorCode =
  | 'INVALID_JSON'
  | 'NOT_AN_OBJECT'
  | 'MISSING_ID'
  | 'INVALID_FEATURES'
  | 'MISSING_FEATURE'
  | 'NOT_A_NUMBER'
  | 'MALFORMED_CSV'
  | 'WRONG_COLUMN_COUNT'
  | 'RECORD_TOO_LONG'
  | 'FEATURE_COUNT_MISMATCH'
  | 'NON_FINITE_PREDICTION'
  | 'PREDICTION_FAILED'
  | 'CHUNK_FAILED';

/** Free-form labels used for cost attribution (`team`, `project`, ...). */
export type BatchLabels = Record<string, string>;

/** What a client asks for: the body of `POST /v1/batches`, already validated. */
export interface BatchRequest {
  datasetUrl: string;
  format: DatasetFormat;
  model: string;
  chunkSize: number;
  outputUrl: string;
  labels: BatchLabels;
  /** Named features, id field, kept fields; absent for the reference format's defaults. */
  schema?: Partial<RecordSchema>;
  idempotencyKey?: string;
  /** Schedule name when the batch was started by a PingSource/CronJob. */
  schedule?: string;
}

/**
 * A byte range of one dataset object, planned by the producer and read by the consumer
 * itself (the split path): the chunk event then carries no records. The consumer reads the
 * lines that *start* in `[start, end)` (Hadoop's LineRecordReader rule: a partial first
 * line belongs to the split before, the last line is read past `end` to its newline), so
 * every line belongs to exactly one split; the read is pinned to `version`.
 */
export interface SplitDescriptor {
  /** The object's URL (`file:`, `s3:`, `http(s):`). */
  source: string;
  /** The object's version at planning (ETag, Last-Modified, mtime and size); reads are pinned to it. */
  version: string;
  /** The object's size at planning, in bytes: reads never ask past it. */
  size: number;
  /** First byte of the range (lines starting here or later belong to the split). */
  start: number;
  /** End of the range, exclusive: a line starting here belongs to the next split. */
  end: number;
  /** This split's place among its object's splits (0 = the object's first). */
  splitIndex: number;
  /** The object's place among the batch's input objects (0 for a single object). */
  fileIndex: number;
  /**
   * Lines of the object before `start` that no split owns (a CSV header and blank lines
   * before it); only the object's first split has any.
   */
  lineBase: number;
}

/**
 * A split's chunk as its CloudEvent carries it (the contract in DESIGN.md): which bytes of
 * which version of which object. The rest (the object's size and header, the batch's format,
 * model, schema and output) is the batch's plan, which the consumer reads once per batch
 * (`split-window.ts`), not repeated in every event.
 */
export interface SplitRef {
  batchId: string;
  chunkIndex: number;
  source: string;
  version: string;
  start: number;
  end: number;
}

/**
 * What a streamed chunk's event carries: its records and where they start, as DESIGN.md has
 * it (`lines` and `rejected` only when a chunk has them). The batch's fields (format, header,
 * schema, model, output) are in the batch's hash, which the consumer reads once per batch.
 */
export type StreamedChunkRef = Pick<ChunkData, 'batchId' | 'chunkIndex' | 'firstLine' | 'lines' | 'rejected'> & { records: string[] };

/** The batch's fields every one of its chunks shares, read by consumers from the batch's hash. */
export type ChunkContext = Pick<ChunkData, 'format' | 'header' | 'schema' | 'model' | 'outputUrl'>;

/** A chunk as the consumer works on it (a streamed chunk or a split, with its batch's fields). */
export interface ChunkData {
  batchId: string;
  chunkIndex: number;
  /**
   * 1-based line number in the dataset file of `records[0]`. For a split, 1: its lines are
   * numbered from the split's start until the batch closes (see `split-lines.ts`).
   */
  firstLine: number;
  /**
   * Raw record texts, as they appear in the dataset. For JSONL one entry per physical line
   * (blank lines kept as "" so numbering holds); for CSV one entry per row, which may span
   * lines when a quoted field contains a newline. Absent for a split (the consumer reads them).
   */
  records?: string[];
  /** The byte range the consumer reads its records from, instead of `records`. */
  split?: SplitDescriptor;
  /**
   * Line numbers of the records, present only when they are not simply consecutive from
   * `firstLine` (CSV rows spanning several lines).
   */
  lines?: number[];
  /** Records refused before parsing (too long): their index in `records` and why. */
  rejected?: { index: number; error: string }[];
  format: DatasetFormat;
  /** CSV header columns; absent for JSONL. */
  header?: string[];
  /** Named features, id field and kept fields; absent for the reference format's defaults. */
  schema?: Partial<RecordSchema>;
  model: string;
  outputUrl: string;
}

/** One record after parsing. */
export interface ParsedRecord {
  id: RecordId;
  features: number[];
  line: number;
  /** Input fields kept for the output line (`keep`), when asked for. */
  input?: Record<string, unknown>;
}

/** One line of an `errors-NNNNN.jsonl` file. */
export interface RecordError {
  /** 1-based line number in the dataset file. */
  line: number;
  id?: RecordId;
  code: RecordErrorCode;
  error: string;
}

/** A model's output for one record: a number (or array) for regressors, a label (string or number) for classifiers. */
export type Prediction = number | string | number[] | Record<string, unknown>;

/** Summary fields from the reference lab, written into `manifest.json`. */
export interface BatchSummary {
  total_records: number;
  avg_prediction: number | null;
  total_latency_ms: number;
  avg_latency_ms: number;
  total_cost_usd: number;
  cost_per_record_usd: number;
}

/** The batch as the status API returns it. */
export interface BatchView {
  id: string;
  status: BatchStatus;
  model: string;
  datasetUrl: string;
  labels: BatchLabels;
  chunks: { total: number | null; enqueued: number; completed: number; failed: number };
  records: { total: number | null; read: number; succeeded: number; failed: number };
  cost: {
    /** Allocated cost: the consumers' limits × wall time, every attempt included. */
    usd: number;
    /** CPU seconds the consumers actually used for the batch's chunks, every attempt included. */
    cpuSeconds: number;
    /** CPU seconds allocated to them (limit × wall time, split between concurrent chunks). */
    allocatedCpuSeconds: number;
    wallSeconds: number;
    usdPerRecord: number;
    /**
     * Used over allocated CPU seconds. Usually 0..1; it can exceed 1 when a chunk used an
     * idle concurrency slot's share, or the model's own threads, beyond its allocation.
     */
    efficiency: number | null;
  };
  output: { url: string; parts: number };
  failedChunks: number[];
  createdAt: string;
  /** When the producer finished reading the dataset. */
  ingestedAt: string | null;
  completedAt: string | null;
  /** Schedule (PingSource or CronJob) that started the batch, if any. */
  schedule?: string;
  /** Why the batch failed or was cancelled (its first root cause); absent otherwise. */
  error?: BatchError;
  /** Chunks that failed for good, counted by their failure code (`{}` when none). */
  failures: Record<string, number>;
  /** The OpenTelemetry trace of the batch (when tracing was on): search logs by `trace_id`. */
  traceId?: string;
  /** `error.code`, kept at the top level for clients that read it before `error` was an object. */
  errorCode?: string;
}

/**
 * Why a batch ended failed or cancelled: the first root cause. For a batch whose chunks
 * failed, the first chunk that failed for good (its code, e.g. `MODEL_NOT_FOUND`,
 * `STALLED`, `CHUNK_FAILED` for an error without one; its last attempt's message; its index
 * and attempts). For a batch stopped as a whole, the reason it was stopped
 * (`DATASET_NOT_FOUND`, `OUTPUT_NOT_WRITABLE`, `BATCH_CANCELLED`, ...).
 */
export interface BatchError {
  code: string;
  message: string;
  chunkIndex?: number;
  attempts?: number;
}
