/**
 * A batch's lifecycle in Redis: created (ingesting) → running once ingest ends → completed,
 * failed or cancelled; a failed batch can be reopened for its failed chunks. Every
 * transition is one Lua script that checks the status it starts from, so the producer and
 * concurrent consumers can never close a batch twice; each also moves the batch gauges and
 * the active/finished sets the exporter reads.
 */
import type { Redis } from 'ioredis';
import { activeBatchesKey, batchIndexKey, batchKeys, finishedBatchesKey, ingestingIndexKey, metricKeys } from './keys.js';
import type { MetricKeys } from './keys.js';
import { toCloseSignal } from './chunk-accounting.js';
import type { CloseSignal } from './chunk-accounting.js';
import { defineScript } from './lua-script.js';
import type { LuaScript } from './lua-script.js';
import type { BatchRequest, BatchStatus } from '../types.js';

const MARK_INGESTED = {
  file: 'mark-ingested',
  keys: ['batch', 'ingesting', 'gauges'],
  args: ['chunksTotal', 'recordsTotal', 'ingestedAt', 'id'],
} as const;

const FINISH = {
  file: 'finish',
  keys: ['batch', 'chunks', 'failed', 'gauges', 'active', 'finished'],
  args: ['status', 'completedAt', 'error', 'ttl', 'id', 'nowMs'],
} as const;

const HALT = {
  file: 'halt',
  keys: ['batch', 'chunks', 'failed', 'ingesting', 'gauges', 'active', 'finished'],
  args: ['status', 'error', 'completedAt', 'ttl', 'id', 'errorCode', 'nowMs'],
} as const;

/** Chunk indexes to reopen follow the named arguments. */
const REOPEN = {
  file: 'reopen',
  keys: ['batch', 'chunks', 'failed', 'gauges', 'active', 'finished', 'index'],
  args: ['id', 'nowMs'],
} as const;

type Script<S extends { keys: readonly string[]; args: readonly string[] }> = LuaScript<S['keys'][number], S['args'][number], number>;

const nowIso = (): string => new Date().toISOString();

export class BatchLifecycle {
  private readonly metrics: MetricKeys;
  private readonly markIngestedScript: Script<typeof MARK_INGESTED>;
  private readonly finishScript: Script<typeof FINISH>;
  private readonly haltScript: Script<typeof HALT>;
  private readonly reopenScript: Script<typeof REOPEN>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {
    this.metrics = metricKeys(prefix);
    this.markIngestedScript = defineScript(redis, MARK_INGESTED);
    this.finishScript = defineScript(redis, FINISH);
    this.haltScript = defineScript(redis, HALT);
    this.reopenScript = defineScript(redis, REOPEN);
  }

  /** @param traceId - the trace the batch belongs to, shown by the status API so its logs can be found. */
  async create(id: string, request: BatchRequest, traceId?: string): Promise<void> {
    const batchKey = batchKeys(this.prefix, id).batch;
    const now = Date.now();
    const tx = this.redis.multi();
    // The last start per schedule, so a missed scheduled run can alert.
    if (request.schedule) tx.hset(this.metrics.scheduleStarts, request.schedule, now);
    // Counters of a new label combination start at 0 before its first chunk, so Prometheus'
    // increase() and rate() count that chunk too (a series born non-zero loses its first step).
    const labels = [request.labels.team ?? '', request.labels.project ?? '', request.model];
    const m = this.metrics;
    for (const key of [m.costUsd, m.cpuSeconds, m.allocatedCpuSeconds]) tx.hincrbyfloat(key, JSON.stringify(labels), 0);
    for (const outcome of ['succeeded', 'failed']) tx.hincrby(m.records, JSON.stringify([outcome, ...labels]), 0);
    await tx
      .hset(batchKey, {
        id,
        status: 'ingesting' satisfies BatchStatus,
        datasetUrl: request.datasetUrl,
        format: request.format,
        model: request.model,
        chunkSize: request.chunkSize,
        outputUrl: request.outputUrl,
        labels: JSON.stringify(request.labels),
        schema: request.schema ? JSON.stringify(request.schema) : '',
        schedule: request.schedule ?? '',
        traceId: traceId ?? '',
        createdAt: new Date(now).toISOString(),
        chunksEnqueued: 0,
        recordsRead: 0,
      })
      .zadd(batchIndexKey(this.prefix), now, id)
      // Trimmed here, where it grows: one cheap command per batch keeps it to the batches of
      // the last BATCH_TTL_SECONDS instead of every batch ever created.
      .zremrangebyscore(batchIndexKey(this.prefix), '-inf', `(${now - this.ttlSeconds * 1000}`)
      .zadd(ingestingIndexKey(this.prefix), now, id)
      .zadd(activeBatchesKey(this.prefix), now, id)
      .hincrby(this.metrics.batches, 'ingesting', 1)
      .hincrby(this.metrics.batches, 'created', 1)
      .exec();
  }

  /**
   * Records the version (ETag, Last-Modified, mtime) of the dataset as the first ingest opened
   * it; "" when the source gives none. A resumed ingest must read the same version, or it
   * would stitch two different files into one batch. Kept from the first attempt on.
   */
  async setDatasetVersion(id: string, version: string | undefined): Promise<void> {
    await this.redis.hsetnx(batchKeys(this.prefix, id).batch, 'datasetVersion', version ?? '');
  }

  /**
   * The CSV header a streaming ingest read, before it queues a chunk: consumers read it with
   * the batch's other fields (a streamed chunk's event does not carry them). A resumed ingest
   * reads the same version, so the same header.
   */
  async setHeader(id: string, header: readonly string[]): Promise<void> {
    await this.redis.hset(batchKeys(this.prefix, id).batch, 'header', JSON.stringify(header));
  }

  /**
   * Progress while ingesting, shown by the status API and the CLI's progress bar: totals so
   * far, set rather than added, so a command resent after a Redis reconnect cannot count twice.
   */
  async setIngestProgress(id: string, chunksEnqueued: number, recordsRead: number): Promise<void> {
    await this.redis.hset(batchKeys(this.prefix, id).batch, 'chunksEnqueued', chunksEnqueued, 'recordsRead', recordsRead);
  }

  async markIngested(id: string, chunksTotal: number, recordsTotal: number): Promise<CloseSignal> {
    const result = await this.markIngestedScript({
      keys: { batch: batchKeys(this.prefix, id).batch, ingesting: ingestingIndexKey(this.prefix), gauges: this.metrics.batches },
      args: { chunksTotal, recordsTotal, ingestedAt: nowIso(), id },
    });
    return toCloseSignal(result);
  }

  /** The keys every final transition touches; `finished` is the set of the new status. */
  private endKeys(
    id: string,
    status: string,
  ): { batch: string; chunks: string; failed: string; gauges: string; active: string; finished: string } {
    return {
      ...batchKeys(this.prefix, id),
      gauges: this.metrics.batches,
      active: activeBatchesKey(this.prefix),
      finished: finishedBatchesKey(this.prefix, status),
    };
  }

  /** Final transition of a running batch. Returns false when another process finished it first. */
  async finish(id: string, status: 'completed' | 'failed', error?: string): Promise<boolean> {
    const result = await this.finishScript({
      keys: this.endKeys(id, status),
      args: { status, completedAt: nowIso(), error: error ?? '', ttl: this.ttlSeconds, id, nowMs: Date.now() },
    });
    return result === 1;
  }

  /** Stops a batch that has not finished (ingest failure, cancellation); `code` is the error's stable code. */
  async halt(id: string, status: 'failed' | 'cancelled', error: string, code = ''): Promise<boolean> {
    const result = await this.haltScript({
      keys: { ...this.endKeys(id, status), ingesting: ingestingIndexKey(this.prefix) },
      args: { status, error, completedAt: nowIso(), ttl: this.ttlSeconds, id, errorCode: code, nowMs: Date.now() },
    });
    return result === 1;
  }

  /**
   * Takes a failed batch back to `running` for `chunkIndexes` (members of its failed set) to
   * run again; it closes again when they are accounted. Returns how many were reopened, or -1
   * when the batch is not failed, or was halted (its ingest failed, or it was cancelled).
   */
  async reopen(id: string, chunkIndexes: readonly number[]): Promise<number> {
    if (chunkIndexes.length === 0) return 0;
    return this.reopenScript({
      keys: { ...this.endKeys(id, 'failed'), index: batchIndexKey(this.prefix) },
      args: { id, nowMs: Date.now() },
      moreArgs: chunkIndexes,
    });
  }
}
