/**
 * `DELETE /v1/batches/:id`: cancels a batch that has not finished. The batch is halted
 * (status `cancelled`), so consumers skip its chunks and it can never close; its ingest stops
 * (at once in this process, within a second in another, which notices through its lease);
 * and its chunks still queued are removed, so Redis frees their payloads and KEDA stops
 * scaling consumers for them. Chunks being processed finish (their parts stay, uncounted
 * towards completion); chunks an ingest enqueues after this sweep are skipped by consumers.
 */
import type { BatchCloser } from '../shared/batch/batch-closer.js';
import type { BatchStore } from '../shared/batch/batch-store.js';
import type { ChunkQueue } from '../shared/events/chunk-queue.js';
import { chunkJobId } from '../shared/events/chunk-queue.js';
import { BatchStateError, NotFoundError } from '../shared/errors.js';
import type { BatchService } from './batch-service.js';

export interface CancelDeps {
  store: BatchStore;
  /** Halts the batch and announces its end (`batch.completed` with status `cancelled`). */
  closer: BatchCloser;
  queue: ChunkQueue;
  service: BatchService;
}

export interface CancelResult {
  id: string;
  status: 'cancelled';
  /** Queued chunks removed. */
  removedChunks: number;
}

const PARALLEL = 64;

export async function cancelBatch(deps: CancelDeps, id: string, reason = 'cancelled by request'): Promise<CancelResult> {
  const { store, closer, queue, service } = deps;
  if (!(await closer.halt(id, 'cancelled', reason))) {
    const state = await store.getState(id);
    if (!state) throw new NotFoundError(`no batch ${id}`);
    throw new BatchStateError('BATCH_FINISHED', `batch ${id} already ended: ${state.status}`);
  }
  service.stop(id);
  const view = await store.get(id);
  const chunks = Math.max(view?.chunks.enqueued ?? 0, view?.chunks.total ?? 0);
  let removedChunks = 0;
  for (let start = 0; start < chunks; start += PARALLEL) {
    const indexes = Array.from({ length: Math.min(PARALLEL, chunks - start) }, (_, k) => start + k);
    const removed = await Promise.all(
      indexes.map(async (index) => {
        const jobId = chunkJobId(id, index);
        // remove() answers 1 for a job that does not exist; only count real ones. A chunk
        // being processed is locked and stays.
        return (await queue.getJob(jobId)) !== undefined && (await queue.remove(jobId)) === 1;
      }),
    );
    removedChunks += removed.filter(Boolean).length;
  }
  return { id, status: 'cancelled', removedChunks };
}
