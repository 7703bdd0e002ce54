/**
 * Read views of batches: the status API's view, the request a batch was created with, the
 * cheap state a consumer checks before each chunk, the manifest's totals, and the lists the
 * producer's recovery and the exporter's dashboard read. Reads only: nothing here writes.
 */
import type { Redis } from 'ioredis';
import { activeBatchesKey, batchKeys, ingestingIndexKey } from './keys.js';
import { batchFolderUrl } from '../io/sinks/registry.js';
import type { BatchError, BatchRequest, BatchStatus, BatchView, ChunkContext } from '../types.js';
import { MODEL_ERROR_FIELD } from './model-notes.js';
import type { ModelFailure } from './model-notes.js';

const num = (v: string | null | undefined): number => (v === undefined || v === null || v === '' ? 0 : Number(v));

/** Hash fields `failures:<code>` count the batch's chunks that failed for good, by code. */
const FAILURES_PREFIX = 'failures:';

/** Figures `manifest.json` needs beyond the view, and the batch's first chunk failure. */
export interface SummaryInputs {
  predictionSum: number;
  predictionCount: number;
  latencyMs: number;
  /** The first chunk that failed for good, while the batch has failed chunks. */
  firstFailure?: BatchError;
}

/** What a consumer reads before each chunk. */
export interface BatchState {
  status: BatchStatus;
  halted: boolean;
  labels: Record<string, string>;
  /** The model failure that fails the batch's chunks fast, once a consumer met it (`model-notes.ts`). */
  modelError?: ModelFailure;
}

/** A batch's state as one of its chunks finds it. */
export interface ChunkState extends BatchState {
  /** The chunk's result is accounted already (an earlier run of it ended). */
  chunkAccounted: boolean;
}

const STATE_FIELDS = ['status', 'halted', 'labels', MODEL_ERROR_FIELD] as const;

function toState([status, halted, labels, modelError]: (string | null)[]): BatchState | null {
  if (!status) return null;
  const state: BatchState = {
    status: status as BatchStatus,
    halted: halted === '1',
    labels: labels ? (JSON.parse(labels) as Record<string, string>) : {},
  };
  if (modelError) state.modelError = JSON.parse(modelError) as ModelFailure;
  return state;
}

export class BatchViews {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private batchKey(id: string): string {
    return batchKeys(this.prefix, id).batch;
  }

  async get(id: string): Promise<BatchView | null> {
    const { batch, failed } = batchKeys(this.prefix, id);
    const [[, hash], [, members]] = (await this.redis.multi().hgetall(batch).smembers(failed).exec()) as [
      [Error | null, Record<string, string>],
      [Error | null, string[]],
    ];
    if (!hash.id) return null;
    return toView(
      hash,
      members.map(Number).sort((a, b) => a - b),
    );
  }

  /** The request a batch was created with, the dataset version its ingest first saw, its trace. */
  async getRequest(id: string): Promise<{ request: BatchRequest; datasetVersion: string | undefined; traceId: string | undefined } | null> {
    const h = await this.redis.hgetall(this.batchKey(id));
    if (!h.id) return null;
    const request: BatchRequest = {
      datasetUrl: h.datasetUrl ?? '',
      format: (h.format ?? 'jsonl') as BatchRequest['format'],
      model: h.model ?? '',
      chunkSize: num(h.chunkSize),
      outputUrl: h.outputUrl ?? '',
      labels: h.labels ? (JSON.parse(h.labels) as Record<string, string>) : {},
    };
    if (h.schedule) request.schedule = h.schedule;
    if (h.schema) request.schema = JSON.parse(h.schema) as BatchRequest['schema'];
    return { request, datasetVersion: h.datasetVersion, traceId: h.traceId || undefined };
  }

  /**
   * The fields every chunk of the batch shares (format, CSV header, schema, model, output),
   * which a streamed chunk's event does not repeat; null when the batch is gone.
   */
  async getChunkContext(id: string): Promise<ChunkContext | null> {
    const [found, format, model, outputUrl, schema, header] = await this.redis.hmget(
      this.batchKey(id),
      'id',
      'format',
      'model',
      'outputUrl',
      'schema',
      'header',
    );
    if (!found || !format || !model || !outputUrl) return null;
    const context: ChunkContext = { format: format as ChunkContext['format'], model, outputUrl };
    if (schema) context.schema = JSON.parse(schema) as ChunkContext['schema'];
    if (header) context.header = JSON.parse(header) as string[];
    return context;
  }

  /** The status and halt flag, the cheap read a consumer does before each chunk. */
  async getState(id: string): Promise<BatchState | null> {
    return toState(await this.redis.hmget(this.batchKey(id), ...STATE_FIELDS));
  }

  /**
   * The batch's state and whether one of its chunks is already accounted (it ran to an end,
   * succeeded or failed for good), in one round trip: what a consumer reads before each chunk.
   */
  async getChunkState(id: string, chunkIndex: number): Promise<ChunkState | null> {
    const results = await this.redis
      .pipeline()
      .hmget(this.batchKey(id), ...STATE_FIELDS)
      .hexists(batchKeys(this.prefix, id).chunks, String(chunkIndex))
      .exec();
    const [[stateErr, fields], [accountedErr, accounted]] = results as [[Error | null, (string | null)[]], [Error | null, number]];
    const err = stateErr ?? accountedErr;
    if (err) throw err;
    const state = toState(fields);
    return state && { ...state, chunkAccounted: accounted === 1 };
  }

  /** Figures `manifest.json` needs beyond the view: prediction and latency totals, the first failure. */
  async getSummaryInputs(id: string): Promise<SummaryInputs> {
    const [sum, count, latency, failure] = await this.redis.hmget(
      this.batchKey(id),
      'predictionSum',
      'predictionCount',
      'latencyMs',
      'failure',
    );
    const inputs: SummaryInputs = { predictionSum: num(sum), predictionCount: num(count), latencyMs: num(latency) };
    const first = parseFailure(failure);
    if (first) inputs.firstFailure = first;
    return inputs;
  }

  /** Indexes of the chunks whose result is accounted (succeeded or failed). */
  async accountedChunks(id: string): Promise<Set<number>> {
    return new Set((await this.redis.hkeys(batchKeys(this.prefix, id).chunks)).map(Number));
  }

  /** Ids of batches still ingesting, oldest first (at most `limit`). */
  async listIngesting(limit = 1000): Promise<string[]> {
    return this.redis.zrange(ingestingIndexKey(this.prefix), '0', String(limit - 1));
  }

  /**
   * The oldest batches in progress (ingesting or running), at most `limit`: one ZRANGE and
   * one pipelined read, whatever the number of batches ever run.
   */
  async listActive(limit: number): Promise<BatchView[]> {
    const ids = await this.redis.zrange(activeBatchesKey(this.prefix), 0, String(limit - 1));
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.batchKey(id));
    const results = (await pipeline.exec()) ?? [];
    return results.flatMap(([err, hash]) =>
      err || !(hash as Record<string, string>).id ? [] : [toView(hash as Record<string, string>, [])],
    );
  }
}

/** The stored first chunk failure (`{code, message, attempts, chunkIndex}` JSON), if any. */
function parseFailure(raw: string | null | undefined): BatchError | undefined {
  if (!raw) return undefined;
  try {
    const f = JSON.parse(raw) as Partial<BatchError>;
    if (typeof f.code !== 'string' || typeof f.message !== 'string') return undefined;
    const error: BatchError = { code: f.code, message: f.message };
    if (typeof f.chunkIndex === 'number') error.chunkIndex = f.chunkIndex;
    if (typeof f.attempts === 'number') error.attempts = f.attempts;
    return error;
  } catch {
    return undefined;
  }
}

/**
 * The batch's error once it failed or was cancelled: a halt's own reason and code, or its
 * first failed chunk's (an older batch without one: the close message, `CHUNK_FAILED`).
 */
function batchError(h: Record<string, string>, status: BatchStatus): BatchError | undefined {
  if (status !== 'failed' && status !== 'cancelled') return undefined;
  if (h.halted === '1') {
    const code = h.errorCode || (status === 'cancelled' ? 'BATCH_CANCELLED' : 'BATCH_FAILED');
    return { code, message: h.error ?? '' };
  }
  return parseFailure(h.failure) ?? (h.error ? { code: 'CHUNK_FAILED', message: h.error } : undefined);
}

function failureCounts(h: Record<string, string>): Record<string, number> {
  const failures: Record<string, number> = {};
  for (const [field, value] of Object.entries(h)) {
    // A count back at 0 (a replay that succeeded, a reopened chunk) is no failure.
    if (field.startsWith(FAILURES_PREFIX) && num(value) > 0) failures[field.slice(FAILURES_PREFIX.length)] = num(value);
  }
  return failures;
}

export function toView(h: Record<string, string>, failedChunks: number[]): BatchView {
  const chunksTotal = h.chunksTotal === undefined ? null : num(h.chunksTotal);
  const recordsTotal = h.recordsTotal === undefined ? null : num(h.recordsTotal);
  const done = num(h.chunksDone);
  const chunksFailed = num(h.chunksFailed);
  const succeeded = num(h.recordsSucceeded);
  const recordsFailed = num(h.recordsFailed);
  const usd = num(h.costUsd);
  const processed = succeeded + recordsFailed;
  const allocated = num(h.allocatedCpuSeconds);
  const status = (h.status ?? 'failed') as BatchStatus;
  const view: BatchView = {
    id: h.id ?? '',
    status,
    model: h.model ?? '',
    datasetUrl: h.datasetUrl ?? '',
    labels: h.labels ? (JSON.parse(h.labels) as Record<string, string>) : {},
    chunks: { total: chunksTotal, enqueued: num(h.chunksEnqueued), completed: done - chunksFailed, failed: chunksFailed },
    records: { total: recordsTotal, read: num(h.recordsRead), succeeded, failed: recordsFailed },
    cost: {
      usd,
      cpuSeconds: num(h.cpuSeconds),
      allocatedCpuSeconds: allocated,
      wallSeconds: num(h.wallSeconds),
      usdPerRecord: processed > 0 ? usd / processed : 0,
      efficiency: allocated > 0 ? num(h.cpuSeconds) / allocated : null,
    },
    // The batch's own folder, `<outputUrl>/<batchId>`, not the root it was written under.
    output: { url: h.outputUrl ? batchFolderUrl(h.outputUrl, h.id ?? '') : '', parts: num(h.parts) },
    failedChunks,
    failures: failureCounts(h),
    createdAt: h.createdAt ?? '',
    ingestedAt: h.ingestedAt ?? null,
    completedAt: h.completedAt ?? null,
  };
  if (h.schedule) view.schedule = h.schedule;
  const error = batchError(h, status);
  if (error) {
    view.error = error;
    view.errorCode = error.code;
  }
  if (h.traceId) view.traceId = h.traceId;
  return view;
}
