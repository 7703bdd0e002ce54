/**
 * Processes one chunk: parse its records, run the model on the whole chunk, write the
 * chunk's part and error files whole, and account records and cost in Redis. Retries of
 * the same chunk replace its files and its counts, so nothing is ever counted twice.
 */
import { performance } from 'node:perf_hooks';
import { UnrecoverableError, WaitingError } from 'bullmq';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { BatchCloser } from '../shared/batch-closer.js';
import type { BatchStore, ChunkResult } from '../shared/batch-store.js';
import { readChunkEvent, InvalidChunkEventError } from '../shared/chunk-event.js';
import type { ChunkEventJson } from '../shared/chunk-event.js';
import { chunkCost } from '../shared/cost.js';
import type { CostRates } from '../shared/cost.js';
import { BatchinferError } from '../shared/errors.js';
import { parseModelRef } from '../shared/model-ref.js';
import { errorsName, openBatchSink, partName } from '../shared/sinks/open-sink.js';
import type { ChunkData, Prediction, RecordError } from '../shared/types.js';
import { loadModel } from './models/load-model.js';
import { parseChunk } from './record-parser.js';

export interface ChunkProcessorOptions {
  store: BatchStore;
  closer: BatchCloser;
  logger: Logger;
  modelRoot: string;
  rates: CostRates;
  /** Chunks this process works on at once; the pod's cost is split between them. */
  concurrency: number;
}

export type ChunkOutcome = 'done' | 'skipped' | 'failed';

/** Thrown after a chunk's final failure has been accounted, so BullMQ marks the job failed. */
export class ChunkFailedError extends UnrecoverableError {
  readonly code = 'CHUNK_FAILED';
}

const toJsonLines = (rows: readonly unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

function predictionLines(records: { id: string | number }[], predictions: Prediction[]): string {
  let out = '';
  for (let i = 0; i < records.length; i++) {
    out += JSON.stringify({ id: records[i]?.id, prediction: predictions[i] }) + '\n';
  }
  return out;
}

/** Where a record's line number comes from in a chunk, for failure reports. */
function allRecordErrors(chunk: ChunkData, reason: string): RecordError[] {
  const { records, errors } = parseChunk(chunk);
  const all = [...errors, ...records.map((r) => ({ line: r.line, id: r.id, error: reason }))];
  return all.sort((a, b) => a.line - b.line);
}

export class ChunkProcessor {
  constructor(private readonly options: ChunkProcessorOptions) {}

  /** The BullMQ processor. `signal` aborts when the worker is draining past its deadline. */
  async process(job: Job<ChunkEventJson>, token: string | undefined, signal?: AbortSignal): Promise<ChunkOutcome> {
    let chunk: ChunkData;
    try {
      chunk = readChunkEvent(job.data).data;
    } catch (err) {
      if (err instanceof InvalidChunkEventError) throw new UnrecoverableError(err.message);
      throw err;
    }
    const log = this.options.logger.child({ batch_id: chunk.batchId, chunk_index: chunk.chunkIndex, job_id: job.id });
    const state = await this.options.store.getState(chunk.batchId);
    if (!state || state.halted) {
      log.info({ status: state?.status ?? 'unknown' }, 'chunk skipped: batch is gone or halted');
      return 'skipped';
    }
    try {
      await this.run(chunk, log, signal);
      return 'done';
    } catch (err) {
      if (signal?.aborted && token) {
        // Shutting down: hand the chunk back untouched for another consumer. Its part may
        // already be written; the next consumer replaces it whole, and nothing was accounted.
        await job.moveToWait(token);
        log.info('chunk handed back to the queue (consumer shutting down)');
        throw new WaitingError();
      }
      const attempts = job.opts.attempts ?? 1;
      const final = err instanceof UnrecoverableError || err instanceof BatchinferError || job.attemptsMade + 1 >= attempts;
      const reason = err instanceof Error ? err.message : String(err);
      if (!final) {
        log.warn({ err, attempt: job.attemptsMade + 1, attempts }, 'chunk attempt failed; will retry');
        throw err;
      }
      await this.recordFailure(chunk, reason, log);
      throw new ChunkFailedError(reason);
    }
  }

  private async run(chunk: ChunkData, log: Logger, signal?: AbortSignal): Promise<void> {
    const started = performance.now();
    const model = await loadModel(parseModelRef(chunk.model, this.options.modelRoot));
    signal?.throwIfAborted();

    // Parse, predict and serialise synchronously when the model is synchronous, so the CPU
    // time measured here belongs to this chunk alone even with concurrent chunks.
    const cpuStart = process.cpuUsage();
    const { records, errors } = parseChunk(chunk);
    const valid = model.inputSize === undefined ? records : records.filter((r) => r.features.length === model.inputSize);
    if (valid.length !== records.length) {
      for (const r of records) {
        if (r.features.length !== model.inputSize) {
          errors.push({ line: r.line, id: r.id, error: `expected ${model.inputSize} features, got ${r.features.length}` });
        }
      }
      errors.sort((a, b) => a.line - b.line);
    }
    const inferStart = performance.now();
    const output = valid.length > 0 ? model.predict(valid.map((r) => r.features), { signal }) : [];
    const predictions = output instanceof Promise ? await output : output;
    const latencyMs = performance.now() - inferStart;
    if (predictions.length !== valid.length) {
      throw new UnrecoverableError(`model returned ${predictions.length} predictions for ${valid.length} records`);
    }
    const part = valid.length > 0 ? predictionLines(valid, predictions) : undefined;
    const errorLines = errors.length > 0 ? toJsonLines(errors) : undefined;
    const cpu = process.cpuUsage(cpuStart);
    signal?.throwIfAborted();

    const sink = openBatchSink(chunk.outputUrl, chunk.batchId);
    await Promise.all([
      part ? sink.write(partName(chunk.chunkIndex), part) : sink.remove(partName(chunk.chunkIndex)),
      errorLines ? sink.write(errorsName(chunk.chunkIndex), errorLines) : sink.remove(errorsName(chunk.chunkIndex)),
    ]);

    let predictionSum = 0;
    let predictionCount = 0;
    for (const p of predictions) {
      if (typeof p === 'number') {
        predictionSum += p;
        predictionCount++;
      }
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const cost = chunkCost(wallSeconds, this.options.rates, this.options.concurrency);
    await this.account(chunk, log, {
      succeeded: valid.length,
      failed: errors.length,
      predictionSum,
      predictionCount,
      latencyMs,
      chunkFailed: false,
      costUsd: cost.usd,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      allocatedCpuSeconds: cost.allocatedCpuSeconds,
      wallSeconds,
    });
    log.debug({ records: valid.length, record_errors: errors.length, wall_ms: Math.round(wallSeconds * 1000) }, 'chunk done');
  }

  /** A chunk that failed for good: all its records go to its error file, and it counts as failed. */
  async recordFailure(chunk: ChunkData, reason: string, log: Logger): Promise<void> {
    const errors = allRecordErrors(chunk, `chunk failed: ${reason}`);
    const sink = openBatchSink(chunk.outputUrl, chunk.batchId);
    await sink.remove(partName(chunk.chunkIndex));
    if (errors.length > 0) await sink.write(errorsName(chunk.chunkIndex), toJsonLines(errors));
    else await sink.remove(errorsName(chunk.chunkIndex));
    await this.account(chunk, log, {
      succeeded: 0,
      failed: errors.length,
      predictionSum: 0,
      predictionCount: 0,
      latencyMs: 0,
      chunkFailed: true,
      costUsd: 0,
      cpuSeconds: 0,
      allocatedCpuSeconds: 0,
      wallSeconds: 0,
    });
    log.error({ reason, records: errors.length }, 'chunk failed after all attempts');
  }

  private async account(chunk: ChunkData, log: Logger, result: ChunkResult): Promise<void> {
    const signal = await this.options.store.recordChunk(chunk.batchId, chunk.chunkIndex, result);
    if (signal === 'close') await this.options.closer.close(chunk.batchId);
    else if (signal === 'gone') log.warn('batch state is gone (expired or deleted); chunk output written but not accounted');
  }
}
