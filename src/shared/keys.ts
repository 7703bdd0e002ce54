/**
 * Redis key names. Every key starts with the queue prefix, which is hash-tagged
 * (`{batchinfer}` by default) so that BullMQ's keys and ours share one Redis Cluster slot
 * and every multi-key script stays legal on a cluster.
 */

/** The BullMQ queue that carries chunks. */
export const CHUNK_QUEUE = 'chunks';

export interface BatchKeys {
  /** Hash: the batch's request, status, counters and cost. */
  batch: string;
  /** Hash: chunk index → that chunk's accounted result, so a replayed chunk is not counted twice. */
  chunks: string;
  /** Set: indexes of chunks that failed after all their attempts. */
  failed: string;
}

export function batchKeys(prefix: string, batchId: string): BatchKeys {
  const base = `${prefix}:batch:${batchId}`;
  return { batch: base, chunks: `${base}:chunks`, failed: `${base}:failed` };
}

/** Sorted set of all batch ids, scored by creation time (ms). */
export const batchIndexKey = (prefix: string): string => `${prefix}:batches`;

/** String: idempotency key → batch id. */
export const idempotencyKey = (prefix: string, key: string): string => `${prefix}:idem:${key}`;

/**
 * Sorted set of the batches being ingested (id → creation ms). Producers sweep it to find
 * ingests whose producer died (see `src/producer/ingest-lease.ts`); a batch leaves it when
 * its ingest finishes or it is halted.
 */
export const ingestingIndexKey = (prefix: string): string => `${prefix}:ingesting`;

/** String with a TTL: the id of the producer ingesting the batch, renewed while it works. */
export const ingestLeaseKey = (prefix: string, batchId: string): string => `${prefix}:batch:${batchId}:ingest`;

/** Sorted set of live producers (instance id → last heartbeat ms): who can take over an ingest. */
export const producersKey = (prefix: string): string => `${prefix}:producers`;
