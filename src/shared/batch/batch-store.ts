/**
 * Batch state in Redis: the request, the status, and the counters that consumers update
 * as chunks finish. One object for the services to hold, made of four parts with one
 * responsibility each: {@link BatchLifecycle} (status transitions), {@link ChunkAccounting}
 * (what chunks and attempts report), {@link IdempotencyKeys} and {@link BatchViews} (reads
 * for the status API and the exporter). Every transition is one Lua script (`./lua/`), so
 * concurrent consumers, a replayed chunk and the producer finishing ingest can never
 * double-count or close a batch twice; every key shares the prefix's hash slot.
 */
import type { Redis } from 'ioredis';
import { BatchLifecycle } from './batch-lifecycle.js';
import { BatchViews } from './batch-views.js';
import type { BatchState, ChunkState, SummaryInputs } from './batch-views.js';
import { ChunkAccounting } from './chunk-accounting.js';
import type { ChunkResult, CloseSignal, FailedAttempt } from './chunk-accounting.js';
import { IdempotencyKeys } from './idempotency-keys.js';
import { ModelNotes } from './model-notes.js';
import type { BatchRequest, BatchView, ChunkContext } from '../types.js';

export type { AttemptUsage, ChunkFailure, ChunkResult, CloseSignal, FailedAttempt } from './chunk-accounting.js';
export type { SummaryInputs } from './batch-views.js';

export class BatchStore {
  readonly lifecycle: BatchLifecycle;
  readonly accounting: ChunkAccounting;
  readonly idempotency: IdempotencyKeys;
  readonly views: BatchViews;
  /** What consumers learn about the batch's model (its failure, its info for the manifest). */
  readonly modelNotes: ModelNotes;

  constructor(redis: Redis, prefix: string, ttlSeconds: number) {
    this.lifecycle = new BatchLifecycle(redis, prefix, ttlSeconds);
    this.accounting = new ChunkAccounting(redis, prefix, ttlSeconds);
    this.idempotency = new IdempotencyKeys(redis, prefix, ttlSeconds);
    this.views = new BatchViews(redis, prefix);
    this.modelNotes = new ModelNotes(redis, prefix);
  }

  // Idempotency keys.

  /** Reserves one key for `id`: the id of the batch that already holds it, or undefined when `id` got it. */
  claimIdempotencyKey(key: string, id: string): Promise<string | undefined> {
    return this.idempotency.claim([key], id);
  }

  /** @see IdempotencyKeys.claim */
  claimIdempotencyKeys(keys: readonly string[], id: string): Promise<string | undefined> {
    return this.idempotency.claim(keys, id);
  }

  /** @see IdempotencyKeys.release */
  releaseIdempotencyKeys(keys: readonly string[], id: string): Promise<number> {
    return this.idempotency.release(keys, id);
  }

  // Lifecycle.

  /** @see BatchLifecycle.create */
  create(id: string, request: BatchRequest, traceId?: string): Promise<void> {
    return this.lifecycle.create(id, request, traceId);
  }

  /** @see BatchLifecycle.setDatasetVersion */
  setDatasetVersion(id: string, version: string | undefined): Promise<void> {
    return this.lifecycle.setDatasetVersion(id, version);
  }

  /** @see BatchLifecycle.setHeader */
  setHeader(id: string, header: readonly string[]): Promise<void> {
    return this.lifecycle.setHeader(id, header);
  }

  /** @see BatchLifecycle.setIngestProgress */
  setIngestProgress(id: string, chunksEnqueued: number, recordsRead: number): Promise<void> {
    return this.lifecycle.setIngestProgress(id, chunksEnqueued, recordsRead);
  }

  markIngested(id: string, chunksTotal: number, recordsTotal: number): Promise<CloseSignal> {
    return this.lifecycle.markIngested(id, chunksTotal, recordsTotal);
  }

  /** @see BatchLifecycle.finish */
  finish(id: string, status: 'completed' | 'failed', error?: string): Promise<boolean> {
    return this.lifecycle.finish(id, status, error);
  }

  /** @see BatchLifecycle.halt */
  halt(id: string, status: 'failed' | 'cancelled', error: string, code = ''): Promise<boolean> {
    return this.lifecycle.halt(id, status, error, code);
  }

  /** @see BatchLifecycle.reopen */
  reopen(id: string, chunkIndexes: readonly number[]): Promise<number> {
    return this.lifecycle.reopen(id, chunkIndexes);
  }

  // Chunk accounting.

  /** @see ChunkAccounting.recordChunk */
  recordChunk(id: string, chunkIndex: number, r: ChunkResult): Promise<CloseSignal> {
    return this.accounting.recordChunk(id, chunkIndex, r);
  }

  /** @see ChunkAccounting.recordFailedAttempt */
  recordFailedAttempt(id: string, a: FailedAttempt): Promise<void> {
    return this.accounting.recordFailedAttempt(id, a);
  }

  // Read views.

  get(id: string): Promise<BatchView | null> {
    return this.views.get(id);
  }

  /** @see BatchViews.getRequest */
  getRequest(id: string): ReturnType<BatchViews['getRequest']> {
    return this.views.getRequest(id);
  }

  /** @see BatchViews.getChunkContext */
  getChunkContext(id: string): Promise<ChunkContext | null> {
    return this.views.getChunkContext(id);
  }

  /** @see BatchViews.getState */
  getState(id: string): Promise<BatchState | null> {
    return this.views.getState(id);
  }

  /** @see BatchViews.getSummaryInputs */
  getSummaryInputs(id: string): Promise<SummaryInputs> {
    return this.views.getSummaryInputs(id);
  }

  /** @see BatchViews.accountedChunks */
  accountedChunks(id: string): Promise<Set<number>> {
    return this.views.accountedChunks(id);
  }

  /** @see BatchViews.getChunkState */
  getChunkState(id: string, chunkIndex: number): Promise<ChunkState | null> {
    return this.views.getChunkState(id, chunkIndex);
  }

  /** @see BatchViews.listIngesting */
  listIngesting(limit?: number): Promise<string[]> {
    return this.views.listIngesting(limit);
  }

  /** @see BatchViews.listActive */
  listActive(limit: number): Promise<BatchView[]> {
    return this.views.listActive(limit);
  }
}
