/**
 * What each attempt at a chunk cost and what it did, in Redis: usage (wall, CPU, allocated
 * cost, wait and processing time) for every attempt whatever its outcome, and the chunk's
 * records when it ends. The chunk that completes its batch closes it.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { BatchCloser } from '../shared/batch/batch-closer.js';
import type { AttemptUsage, BatchStore, ChunkResult } from '../shared/batch/batch-store.js';
import { chunkCost } from '../shared/batch/cost.js';
import type { CostRates } from '../shared/batch/cost.js';
import { NO_OBSERVATION, observe, PROCESSING_BUCKETS, WAIT_BUCKETS } from '../shared/observability/histogram-buckets.js';
import { ATTR, attrs, inSpan } from '../shared/observability/tracing.js';
import type { ChunkData } from '../shared/types.js';
import type { AttemptClock } from './attempt-clock.js';
import { failureCode } from './failure-reason.js';
import type { ResourceMeter, Tally } from './resource-meter.js';

export interface AttemptAccountingOptions {
  store: BatchStore;
  closer: BatchCloser;
  rates: CostRates;
  /** Chunks this process works on at once; the pod's cost is split between them. */
  concurrency: number;
  /** Measures each attempt's wall and CPU time (one per process: it splits CPU between attempts). */
  meter: ResourceMeter;
  /** Tells when an attempt became runnable, for its wait. */
  clock: AttemptClock;
}

/** One attempt in flight: its meter, its wait, and whether its usage is already accounted. */
export interface Attempt {
  /** Books the attempt once however often its script runs (see {@link AttemptUsage.attemptId}). */
  readonly id: string;
  readonly tally: Tally;
  readonly waitSeconds: number | undefined;
  accounted: boolean;
}

/**
 * How a final failure is accounted: its reason label, its message and attempts (the batch's
 * `error` when it is the first), and, when it ran, the last attempt's usage.
 */
export interface FinalFailure {
  reason: string;
  message: string;
  attempts: number;
  usage?: AttemptUsage;
}

export const NO_USAGE: AttemptUsage = {
  costUsd: 0,
  cpuSeconds: 0,
  allocatedCpuSeconds: 0,
  wallSeconds: 0,
  wait: NO_OBSERVATION,
  processing: NO_OBSERVATION,
  attemptId: '',
};

/** The record counts of a chunk's outcome (the rest of a {@link ChunkResult} is usage). */
export type ChunkCounts = Omit<ChunkResult, keyof AttemptUsage>;

export class AttemptAccounting {
  constructor(private readonly options: AttemptAccountingOptions) {}

  /**
   * Starts measuring an attempt. Its wait is measured from when this attempt became runnable,
   * not from the chunk's creation; unknown (after a stall) is left out rather than guessed.
   */
  async begin(job: Job, log: Logger): Promise<Attempt> {
    const waitSeconds = await this.options.clock.waitSeconds(job).catch((err: unknown) => {
      log.warn({ err }, 'could not read when the chunk became runnable');
      return undefined;
    });
    return { id: randomUUID(), tally: this.options.meter.start(), waitSeconds, accounted: false };
  }

  /**
   * For a chunk already accounted by an earlier run, which is not run again: a resumed ingest
   * enqueues again the chunks its first attempt enqueued (their jobs were removed when done),
   * and a consumer killed right after accounting leaves its job to run again. Running it again
   * would book its cost twice. Its earlier run may have died before closing the batch, so the
   * batch is closed here when every chunk is in.
   */
  async settleAccounted(chunk: ChunkData): Promise<void> {
    const { store, closer } = this.options;
    const view = await store.get(chunk.batchId);
    const { total, completed, failed } = view?.chunks ?? { total: null, completed: 0, failed: 0 };
    if (view?.status === 'running' && total !== null && completed + failed >= total) await closer.close(chunk.batchId);
  }

  /** An attempt's usage and timings, with its allocated cost; nothing when already accounted. */
  usage(attempt: Attempt): AttemptUsage {
    if (attempt.accounted) return NO_USAGE;
    const { wallSeconds, cpuSeconds } = attempt.tally.stop();
    const cost = chunkCost(wallSeconds, this.options.rates, this.options.concurrency);
    return {
      costUsd: cost.usd,
      cpuSeconds,
      allocatedCpuSeconds: cost.allocatedCpuSeconds,
      wallSeconds,
      wait: observe(attempt.waitSeconds, WAIT_BUCKETS),
      processing: observe(wallSeconds, PROCESSING_BUCKETS),
      attemptId: attempt.id,
    };
  }

  /**
   * An attempt that ends without finishing the chunk (retry or hand-back) still cost
   * something, and tells the next attempt when it became runnable. Best effort: failing
   * here must not hide the attempt's own error.
   */
  async requeued(job: Job, chunk: ChunkData, usage: AttemptUsage, reason: string, log: Logger, err?: unknown): Promise<void> {
    try {
      await Promise.all([
        this.options.clock.markRequeued(job, err),
        this.options.store.recordFailedAttempt(chunk.batchId, { ...usage, reason }),
      ]);
    } catch (accountErr) {
      log.warn({ err: accountErr }, 'could not account the failed attempt');
    }
  }

  /**
   * An attempt dropped because its batch was halted meanwhile: its records are not counted
   * (the batch never closes), but the resources it used are part of the batch's cost.
   */
  async dropped(chunk: ChunkData, usage: AttemptUsage, log: Logger): Promise<void> {
    try {
      await this.options.store.recordFailedAttempt(chunk.batchId, { ...usage, reason: 'batch_halted' });
    } catch (err) {
      log.warn({ err }, 'could not account the dropped attempt');
    }
  }

  /** Accounts a chunk done by `attempt`: its counts and the attempt's usage, once. */
  async done(chunk: ChunkData, attempt: Attempt, counts: Omit<ChunkCounts, 'chunkFailed'>, log: Logger): Promise<void> {
    const result: ChunkResult = { ...counts, chunkFailed: false, ...this.usage(attempt) };
    await this.account(chunk, result, log, () => (attempt.accounted = true));
  }

  /** Accounts a chunk that failed for good: `records` errors, and its last attempt's usage when it ran. */
  async failed(chunk: ChunkData, records: number, failure: FinalFailure, log: Logger): Promise<void> {
    await this.account(
      chunk,
      {
        succeeded: 0,
        failed: records,
        predictionSum: 0,
        predictionCount: 0,
        latencyMs: 0,
        chunkFailed: true,
        failureReason: failure.reason,
        failure: { code: failureCode(failure.reason), message: failure.message, attempts: failure.attempts },
        ...(failure.usage ?? NO_USAGE),
      },
      log,
    );
  }

  /** Counts the chunk in Redis; the chunk that completes the batch closes it (inside this span). */
  private async account(chunk: ChunkData, result: ChunkResult, log: Logger, onAccounted?: () => void): Promise<void> {
    await inSpan('batchinfer.batch.account', attrs({ [ATTR.batchId]: chunk.batchId, [ATTR.chunkIndex]: chunk.chunkIndex }), async () => {
      const signal = await this.options.store.recordChunk(chunk.batchId, chunk.chunkIndex, result);
      onAccounted?.();
      if (signal === 'close') await this.options.closer.close(chunk.batchId);
      else if (signal === 'gone') log.warn('batch state is gone (expired or deleted); chunk output written but not accounted');
    });
  }
}
