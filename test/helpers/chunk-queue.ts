/** A look into the real chunk queue, to see which consumer holds which chunk. */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CHUNK_QUEUE } from '../../src/shared/batch/keys.js';

export interface QueueProbe {
  queue: Queue;
  /** Job ids (`<batchId>-<chunkIndex>`) a consumer process is working on. */
  activeOf(pid: number | undefined): Promise<string[]>;
  close(): Promise<void>;
}

export function probeChunkQueue(redisUrl: string, prefix: string): QueueProbe {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(CHUNK_QUEUE, { connection, prefix });
  return {
    queue,
    async activeOf(pid) {
      // Consumers name their worker `<hostname>:<pid>`; BullMQ records it on each job.
      const active = await queue.getActive();
      return active.filter((job) => job.processedBy?.endsWith(`:${pid}`)).map((job) => job.id ?? '');
    },
    async close() {
      await queue.close();
      await connection.quit();
    },
  };
}

/** The chunk index of a chunk job id. */
export const chunkIndexOf = (jobId: string): number => Number(jobId.slice(jobId.lastIndexOf('-') + 1));
