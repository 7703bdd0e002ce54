/**
 * Chunk accounting: what consumers report as chunks and attempts end. Each report is one
 * script, one round trip: the chunk's counts (replaced on replay, so a redelivered chunk is
 * never counted twice), the attempt's cost and timings (always added), the exporter's
 * counters, and whether the batch is now ready to close.
 */
import type { Redis } from 'ioredis';
import { costMonth, MONTH_COST_TTL_SECONDS } from './cost.js';
import { batchKeys, metricKeys, teamMonthCostKey } from './keys.js';
import type { MetricKeys } from './keys.js';
import { defineScript } from './lua-script.js';
import type { LuaScript } from './lua-script.js';
import type { Observation } from '../observability/histogram-buckets.js';

/** What one attempt at a chunk cost and how long it waited and ran, whatever its outcome. */
export interface AttemptUsage {
  /** Allocated cost of the attempt, USD. */
  costUsd: number;
  /** CPU seconds the attempt actually used. */
  cpuSeconds: number;
  /** CPU seconds allocated to the attempt (its share of the pod's limit × wall time). */
  allocatedCpuSeconds: number;
  wallSeconds: number;
  /** Wait of this attempt (from when it became runnable to when it started). */
  wait: Observation;
  /** Processing time of this attempt. */
  processing: Observation;
  /**
   * The attempt's id: a script run twice for the same attempt (ioredis sends it again when a
   * Redis crash cut its reply off) books it once. Empty when there is nothing to book.
   */
  attemptId: string;
}

/** An attempt that failed and will be retried (or was handed back on shutdown). */
export interface FailedAttempt extends AttemptUsage {
  /** Low-cardinality reason, a metric label. */
  reason: string;
}

/** Why a chunk failed for good: what the batch's status shows when it is the first. */
export interface ChunkFailure {
  /** Stable code (`MODEL_NOT_FOUND`, `STALLED`, `CHUNK_FAILED` for an error without one). */
  code: string;
  /** The last attempt's error message. */
  message: string;
  /** Attempts the chunk had. */
  attempts: number;
}

/** What a consumer reports for one chunk (counts are replaced on replay, cost is added). */
export interface ChunkResult extends AttemptUsage {
  succeeded: number;
  failed: number;
  /** Sum and count of numeric predictions, for `avg_prediction`. */
  predictionSum: number;
  predictionCount: number;
  /** Model time for the chunk, ms. */
  latencyMs: number;
  /** The chunk failed after all its attempts (its records are reported as errors). */
  chunkFailed: boolean;
  /** Why it failed (a low-cardinality metric label), when `chunkFailed`. */
  failureReason?: string;
  /** Its code, message and attempts, when `chunkFailed` (the batch's `error` if it is the first). */
  failure?: ChunkFailure;
}

/** Result of a transition: whether the caller should now close the batch. */
export type CloseSignal = 'close' | 'open' | 'gone';

export const toCloseSignal = (n: number): CloseSignal => (n === 1 ? 'close' : n === -1 ? 'gone' : 'open');

const COST_KEYS = ['costUsd', 'cpuSeconds', 'allocatedCpuSeconds', 'teamMonthCost'] as const;
const USAGE_ARGS = [
  'costUsd',
  'cpuSeconds',
  'allocatedCpuSeconds',
  'wallSeconds',
  'waitBucket',
  'wait',
  'processingBucket',
  'processing',
] as const;

/** Set: ids of the batch's attempts already booked (see `lua/booked-once.lua`). */
const bookedKey = (batchKey: string): string => `${batchKey}:booked`;

const RECORD_CHUNK = {
  file: 'record-chunk',
  keys: ['batch', 'chunks', 'failed', 'booked', 'waitHistogram', 'processingHistogram', 'records', 'chunkFailures', ...COST_KEYS],
  args: [
    'chunkIndex',
    'succeeded',
    'failed',
    'predictionSum',
    'predictionCount',
    'latencyMs',
    'chunkFailed',
    ...USAGE_ARGS,
    'failureReason',
    'monthTtl',
    'failureCode',
    'failure',
    'attemptId',
    'bookedTtl',
  ],
} as const;

const RECORD_ATTEMPT = {
  file: 'record-attempt',
  keys: ['batch', 'booked', 'waitHistogram', 'processingHistogram', 'chunkRetries', ...COST_KEYS],
  args: [...USAGE_ARGS, 'reason', 'monthTtl', 'attemptId', 'bookedTtl'],
} as const;

type Keys<S extends { keys: readonly string[] }> = S['keys'][number];
type Args<S extends { args: readonly string[] }> = S['args'][number];

/** The usage arguments both scripts take. */
function usageArgs(u: AttemptUsage): Record<(typeof USAGE_ARGS)[number], string | number> {
  return {
    costUsd: u.costUsd,
    cpuSeconds: u.cpuSeconds,
    allocatedCpuSeconds: u.allocatedCpuSeconds,
    wallSeconds: u.wallSeconds,
    waitBucket: u.wait.bucket,
    wait: u.wait.value,
    processingBucket: u.processing.bucket,
    processing: u.processing.value,
  };
}

/** Longest failure message kept: the status shows it, the error files hold every record's. */
const MAX_FAILURE_MESSAGE = 1000;

/** The failure as stored: a code safe in the chunk record (`|`-separated), a bounded message. */
function storedFailure(r: ChunkResult): ChunkFailure {
  const f = r.failure ?? { code: 'CHUNK_FAILED', message: r.failureReason ?? 'chunk failed', attempts: 0 };
  const code = f.code.toUpperCase().replace(/[^A-Z0-9_]/g, '_') || 'CHUNK_FAILED';
  return { code, message: f.message.slice(0, MAX_FAILURE_MESSAGE), attempts: f.attempts };
}

export class ChunkAccounting {
  private readonly metrics: MetricKeys;
  private readonly recordChunkScript: LuaScript<Keys<typeof RECORD_CHUNK>, Args<typeof RECORD_CHUNK>, number>;
  private readonly recordAttemptScript: LuaScript<Keys<typeof RECORD_ATTEMPT>, Args<typeof RECORD_ATTEMPT>, number>;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    /** How long a batch's booked attempt ids are kept: the batch's TTL. */
    private readonly ttlSeconds: number,
  ) {
    this.metrics = metricKeys(prefix);
    this.recordChunkScript = defineScript(redis, RECORD_CHUNK);
    this.recordAttemptScript = defineScript(redis, RECORD_ATTEMPT);
  }

  /** Keys of the cost counters: per label, and this month's per team. */
  private costKeys(): Record<(typeof COST_KEYS)[number], string> {
    const m = this.metrics;
    return {
      costUsd: m.costUsd,
      cpuSeconds: m.cpuSeconds,
      allocatedCpuSeconds: m.allocatedCpuSeconds,
      teamMonthCost: teamMonthCostKey(this.prefix, costMonth()),
    };
  }

  /**
   * Accounts a chunk's result, its attempt's cost and timings, and the metrics the exporter
   * publishes (records by outcome, failures by reason, cost by label, histograms). A
   * non-finite number anywhere is refused (`ACCOUNTING_VALUE_INVALID`) before Redis sees it.
   */
  async recordChunk(id: string, chunkIndex: number, r: ChunkResult): Promise<CloseSignal> {
    const k = batchKeys(this.prefix, id);
    const m = this.metrics;
    const failure = r.chunkFailed ? storedFailure(r) : undefined;
    const result = await this.recordChunkScript({
      keys: {
        batch: k.batch,
        chunks: k.chunks,
        failed: k.failed,
        booked: bookedKey(k.batch),
        waitHistogram: m.waitHistogram,
        processingHistogram: m.processingHistogram,
        records: m.records,
        chunkFailures: m.chunkFailures,
        ...this.costKeys(),
      },
      args: {
        chunkIndex,
        succeeded: r.succeeded,
        failed: r.failed,
        predictionSum: r.predictionSum,
        predictionCount: r.predictionCount,
        latencyMs: r.latencyMs,
        chunkFailed: r.chunkFailed ? 1 : 0,
        ...usageArgs(r),
        failureReason: r.failureReason ?? 'error',
        monthTtl: MONTH_COST_TTL_SECONDS,
        failureCode: failure?.code ?? '',
        failure: failure ? JSON.stringify({ ...failure, chunkIndex }) : '',
        attemptId: r.attemptId,
        bookedTtl: this.ttlSeconds,
      },
    });
    return toCloseSignal(result);
  }

  /**
   * Accounts an attempt that failed and will be retried: the resources it used are part of
   * the batch's cost even though its records will be counted by a later attempt.
   */
  async recordFailedAttempt(id: string, a: FailedAttempt): Promise<void> {
    const m = this.metrics;
    await this.recordAttemptScript({
      keys: {
        batch: batchKeys(this.prefix, id).batch,
        booked: bookedKey(batchKeys(this.prefix, id).batch),
        waitHistogram: m.waitHistogram,
        processingHistogram: m.processingHistogram,
        chunkRetries: m.chunkRetries,
        ...this.costKeys(),
      },
      args: { ...usageArgs(a), reason: a.reason, monthTtl: MONTH_COST_TTL_SECONDS, attemptId: a.attemptId, bookedTtl: this.ttlSeconds },
    });
  }
}
