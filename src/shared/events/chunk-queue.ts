/**
 * The chunk queue, as both sides see it: one BullMQ queue, its default job options, and
 * the job id rule that makes enqueueing a chunk idempotent.
 */
import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChunkEventJson } from './chunk-event.js';
import { CHUNK_QUEUE } from '../batch/keys.js';

export type ChunkQueue = Queue<ChunkEventJson, void, 'chunk'>;

export interface ChunkQueueOptions {
  prefix: string;
  /** Tries per chunk before it is failed. */
  attempts: number;
  /** Delay before the second try, doubling after that. @defaultValue 1000 */
  backoffMs?: number;
}

/** Job id of a chunk: the same chunk enqueued twice (re-ingest) is one job. */
export const chunkJobId = (batchId: string, chunkIndex: number): string => `${batchId}-${chunkIndex}`;

export function chunkJobOptions(attempts: number, backoffMs = 1000): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    // Redis keeps payloads only while chunks wait: completed chunks are removed at once,
    // failed ones kept a week for inspection and retry.
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export function createChunkQueue(connection: Redis, options: ChunkQueueOptions): ChunkQueue {
  return new Queue(CHUNK_QUEUE, {
    connection,
    prefix: options.prefix,
    defaultJobOptions: chunkJobOptions(options.attempts, options.backoffMs),
  });
}
