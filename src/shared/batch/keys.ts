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

/**
 * Sorted set of batch ids, scored by creation time (ms), trimmed to the batches created within
 * `BATCH_TTL_SECONDS` whenever a batch is created. Only reopening a failed batch reads it (for
 * its place among the active batches; one older than that takes its reopening time).
 */
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
/** Sorted set of the batches in progress (ingesting or running), scored by creation time (ms). */
export const activeBatchesKey = (prefix: string): string => `${prefix}:batches:active`;

/**
 * Sorted set of the batches that reached a final status, scored by when (ms). Trimmed to
 * the batch TTL on every write, so it holds exactly the batches the status API still knows.
 */
export const finishedBatchesKey = (prefix: string, status: string): string => `${prefix}:batches:finished:${status}`;

/**
 * Sorted set of live consumers, scored by their last heartbeat (ms). Consumers scale to zero
 * and cannot be scraped, so they announce themselves here and the exporter counts them.
 */
export const consumersKey = (prefix: string): string => `${prefix}:consumers`;

/** How often a consumer renews its heartbeat, and how long one counts as alive. */
export const CONSUMER_HEARTBEAT_MS = 10_000;
export const CONSUMER_ALIVE_MS = 3 * CONSUMER_HEARTBEAT_MS;

/**
 * Hash field a consumer writes into a BullMQ job's own hash when an attempt ends without
 * finishing the chunk (retry or hand-back): `<next attempt number>:<epoch ms it is runnable
 * from>`. The next attempt's wait is measured from it, so retries never inflate the wait.
 * It lives and dies with the job.
 */
export const JOB_READY_FIELD = 'bi:ready';

/**
 * Counters that consumers and batch transitions write and the exporter publishes. They are
 * monotonic (Prometheus counters) except the batch gauges, and every key shares the queue
 * prefix's hash slot.
 */
export interface MetricKeys {
  /** Hash: non-cumulative histogram of per-attempt chunk wait: bucket bound → count, plus `count` and `sum`. */
  waitHistogram: string;
  /** Hash: the same for per-attempt processing time. */
  processingHistogram: string;
  /** Hash: JSON `[outcome, team, project, model]` → records. */
  records: string;
  /** Hash: reason → chunks that failed after all their attempts. */
  chunkFailures: string;
  /** Hash: reason → attempts that failed and were retried (or handed back). */
  chunkRetries: string;
  /** Hashes: JSON `[team, project, model]` → allocated USD, used CPU s, allocated CPU s. */
  costUsd: string;
  cpuSeconds: string;
  allocatedCpuSeconds: string;
  /** Hash: `ingesting`/`running` gauges, `created` and `<final status>` totals. */
  batches: string;
  /** Hash: schedule name → epoch ms of the last batch it started. */
  scheduleStarts: string;
}

export function metricKeys(prefix: string): MetricKeys {
  const m = `${prefix}:metrics`;
  return {
    waitHistogram: `${m}:chunk-wait`,
    processingHistogram: `${m}:chunk-processing`,
    records: `${m}:records`,
    chunkFailures: `${m}:chunk-failures`,
    chunkRetries: `${m}:chunk-retries`,
    costUsd: `${m}:cost-usd`,
    cpuSeconds: `${m}:cpu-seconds`,
    allocatedCpuSeconds: `${m}:allocated-cpu-seconds`,
    batches: `${m}:batches`,
    scheduleStarts: `${m}:schedule-starts`,
  };
}

/** Hash: team → allocated USD in one calendar month (UTC, `YYYY-MM`), for budgets. */
export const teamMonthCostKey = (prefix: string, month: string): string => `${prefix}:metrics:team-cost:${month}`;
