/**
 * `POST /v1/batches/:id/retry`: runs the failed chunks of a batch again, and only those.
 *
 * A chunk that failed for good keeps its BullMQ job in the failed set (`removeOnFail` keeps
 * it a week), payload included, so retrying it is `job.retry()` with fresh attempts. The
 * batch goes back to `running` with those chunks' accounting taken out, and closes again by
 * the usual rule when they are all accounted: `completed` if they now succeed, `failed` with
 * the chunks that failed again. A failed chunk whose job is gone cannot be re-run and stays
 * failed.
 *
 * The same call on a `running` batch re-runs chunks that are stuck: failed in BullMQ but not
 * accounted (a retry interrupted between reopening the batch and re-queueing its chunks, or
 * a consumer that died before accounting a chunk BullMQ failed for stalling).
 */
import type { Job } from 'bullmq';
import type { BatchStore } from '../shared/batch/batch-store.js';
import type { ChunkEventJson } from '../shared/events/chunk-event.js';
import type { ChunkQueue } from '../shared/events/chunk-queue.js';
import { chunkJobId } from '../shared/events/chunk-queue.js';
import { BatchStateError, NotFoundError } from '../shared/errors.js';
import type { BatchStatus } from '../shared/types.js';

export interface RetryDeps {
  store: BatchStore;
  queue: ChunkQueue;
}

export interface RetryResult {
  id: string;
  status: BatchStatus;
  /** Chunk indexes queued again. */
  retried: number[];
  /** Failed chunks whose job (and so whose records) is gone: they stay failed. */
  unavailable: number[];
}

/** Concurrent Redis round trips when looking chunks up. */
const PARALLEL = 64;

async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += PARALLEL) out.push(...(await Promise.all(items.slice(i, i + PARALLEL).map(fn))));
  return out;
}

export async function retryFailedChunks(deps: RetryDeps, id: string): Promise<RetryResult> {
  const { store, queue } = deps;
  const state = await store.getState(id);
  const view = state ? await store.get(id) : null;
  if (!state || !view) throw new NotFoundError(`no batch ${id}`);

  let candidates: number[];
  if (state.status === 'failed' && !state.halted) {
    candidates = view.failedChunks;
  } else if (state.status === 'running' && view.chunks.total !== null) {
    const accounted = await store.accountedChunks(id);
    candidates = [];
    for (let i = 0; i < view.chunks.total; i++) if (!accounted.has(i)) candidates.push(i);
  } else {
    const why = state.halted ? `was ${state.status} before its chunks ran (${view.error?.message ?? 'halted'})` : `is ${state.status}`;
    throw new BatchStateError('BATCH_NOT_RETRYABLE', `batch ${id} ${why}; only a batch that failed on chunks can be retried`);
  }

  const jobs = await mapLimited(candidates, async (index) => {
    const job = (await queue.getJob(chunkJobId(id, index))) as Job<ChunkEventJson> | undefined;
    return job && (await job.getState()) === 'failed' ? job : undefined;
  });
  const retried = candidates.filter((_, k) => jobs[k] !== undefined);
  const unavailable = state.status === 'failed' ? candidates.filter((_, k) => jobs[k] === undefined) : [];
  if (retried.length === 0) {
    throw new BatchStateError('BATCH_NOT_RETRYABLE', `batch ${id} has no failed chunk that can run again (their jobs are gone)`);
  }

  if (state.status === 'failed' && (await store.reopen(id, retried)) < 0) {
    throw new BatchStateError('BATCH_NOT_RETRYABLE', `batch ${id} changed state meanwhile; look at it again`);
  }
  await mapLimited(jobs, (job) => job?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }) ?? Promise.resolve());
  return { id, status: 'running', retried, unavailable };
}
