/**
 * The last look before a chunk writes anything: a batch cancelled (or failed by its ingest)
 * while one of its chunks was being scored must not get that chunk's part afterwards. The
 * check at the start of a chunk is not enough: scoring can take minutes.
 */
import type { BatchStore } from '../shared/batch/batch-store.js';
import { BatchinferError } from '../shared/errors.js';

/** The chunk's batch was halted (cancelled, or failed by its ingest) while the chunk was in hand. */
export class BatchHaltedError extends BatchinferError {
  constructor(
    readonly batchId: string,
    readonly status: string,
  ) {
    super('BATCH_HALTED', `batch ${batchId} was ${status} while the chunk was in hand`, 409);
  }
}

/** Throws {@link BatchHaltedError} when the batch is halted or gone; nothing otherwise. */
export async function assertNotHalted(store: BatchStore, batchId: string): Promise<void> {
  const state = await store.getState(batchId);
  if (!state || state.halted) throw new BatchHaltedError(batchId, state?.status ?? 'deleted');
}
