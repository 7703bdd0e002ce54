/**
 * Processes one chunk: parse its records, run the model on the whole chunk, write the
 * chunk's part and error files whole, and account records and cost in Redis. Retries of
 * the same chunk replace its files and its counts, so nothing is ever counted twice.
 */
import { performance } from 'node:perf_hooks';
import { context, SpanKind, trace } from '@opentelemetry/api';
import type { Context, HrTime } from '@opentelemetry/api';
import { UnrecoverableError, WaitingError } from 'bullmq';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { BatchCloser } from '../shared/batch/batch-closer.js';
import type { AttemptUsage, BatchStore, ChunkResult } from '../shared/batch/batch-store.js';
import { readChunkEvent, InvalidChunkEventError } from '../shared/events/chunk-event.js';
import type { ChunkEventJson } from '../shared/events/chunk-event.js';
import { chunkCost } from '../shared/batch/cost.js';
import type { CostRates } from '../shared/batch/cost.js';
import { BatchinferError, OutputRefusedError } from '../shared/errors.js';
import { NO_OBSERVATION, observe, PROCESSING_BUCKETS, WAIT_BUCKETS } from '../shared/observability/histogram-buckets.js';
import { CHUNK_QUEUE } from '../shared/batch/keys.js';
import { loadModel, parseModelRef } from '../shared/models/registry.js';
import { errorsName, isReallyWithinRoot, openBatchSink, partName } from '../shared/io/sinks/open-sink.js';
import type { OutputSink } from '../shared/io/sinks/output-sink.js';
import { ATTR, attrs, inSpan, inSpanSync, MESSAGING, recordError, tracer } from '../shared/observability/tracing.js';
import type { ChunkData, ParsedRecord, Prediction, RecordError } from '../shared/types.js';
import type { AttemptClock } from './attempt-clock.js';
import { failureReason, SHUTDOWN } from './failure-reason.js';
import { predictionLines } from './prediction-lines.js';
import { parseChunk } from '../shared/formats/record-parser.js';
import type { ResourceMeter, Tally } from './resource-meter.js';

export interface ChunkProcessorOptions {
  store: BatchStore;
  closer: BatchCloser;
  logger: Logger;
  modelRoot: string;
  /** This consumer's `OUTPUT_URL`: the only place its chunks may write to. */
  outputRoot: string;
  rates: CostRates;
  /** Chunks this process works on at once; the pod's cost is split between them. */
  concurrency: number;
  /**
   * Fraction of records that get a span of their own (0 = none). Opt-in and sampled: a
   * 10M-record batch must not emit 10M spans. @defaultValue 0
   */
  recordSampleRatio?: number;
  /** Measures each attempt's wall and CPU time (one per process: it splits CPU between attempts). */
  meter: ResourceMeter;
  /** Tells when an attempt became runnable, for its wait. */
  clock: AttemptClock;
}

/** How a final failure is accounted: its reason label and, when it ran, the last attempt's usage. */
export interface FinalFailure {
  reason: string;
  usage?: AttemptUsage;
}

/** One attempt in flight: its meter, its wait, and whether its usage is already accounted. */
interface Attempt {
  tally: Tally;
  waitSeconds: number | undefined;
  accounted: boolean;
}

const NO_USAGE: AttemptUsage = {
  costUsd: 0,
  cpuSeconds: 0,
  allocatedCpuSeconds: 0,
  wallSeconds: 0,
  wait: NO_OBSERVATION,
  processing: NO_OBSERVATION,
};

export type ChunkOutcome = 'done' | 'skipped' | 'failed';

/** Thrown after a chunk's final failure has been accounted, so BullMQ marks the job failed. */
export class ChunkFailedError extends UnrecoverableError {
  readonly code = 'CHUNK_FAILED';
}

const toJsonLines = (rows: readonly unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Parses a chunk and drops records whose feature count the model does not take (record errors). */
function prepareRecords(chunk: ChunkData, inputSize: number | undefined): { valid: ParsedRecord[]; errors: RecordError[] } {
  const { records, errors } = parseChunk(chunk);
  if (inputSize === undefined) return { valid: records, errors };
  const valid = records.filter((r) => r.features.length === inputSize);
  if (valid.length !== records.length) {
    for (const r of records) {
      if (r.features.length !== inputSize)
        errors.push({ line: r.line, id: r.id, error: `expected ${inputSize} features, got ${r.features.length}` });
    }
    errors.sort((a, b) => a.line - b.line);
  }
  return { valid, errors };
}

/** Where a record's line number comes from in a chunk, for failure reports. */
function allRecordErrors(chunk: ChunkData, reason: string): RecordError[] {
  const { records, errors } = parseChunk(chunk);
  const all = [...errors, ...records.map((r) => ({ line: r.line, id: r.id, error: reason }))];
  return all.sort((a, b) => a.line - b.line);
}

/** The CONSUMER span's attributes for one attempt at a chunk (OTel messaging conventions). */
function chunkSpanAttributes(job: Job<ChunkEventJson>, chunk: ChunkData): Record<string, string | number> {
  const attributes: Record<string, string | number> = {
    [MESSAGING.system]: MESSAGING.bullmq,
    [MESSAGING.operationType]: 'process',
    [MESSAGING.operationName]: 'process',
    [MESSAGING.destination]: CHUNK_QUEUE,
    [MESSAGING.messageId]: job.id ?? `${chunk.batchId}-${chunk.chunkIndex}`,
    [ATTR.batchId]: chunk.batchId,
    [ATTR.chunkIndex]: chunk.chunkIndex,
    [ATTR.chunkRecords]: chunk.records.length,
    [ATTR.chunkAttempt]: job.attemptsMade + 1,
    [ATTR.model]: chunk.model,
  };
  const started = job.processedOn ?? Date.now();
  attributes[ATTR.sinceEnqueuedMs] = Math.max(0, started - job.timestamp);
  // The first attempt's wait is known here; a retry's is set once the attempt clock has read
  // when it became due (BullMQ does not keep that).
  if (job.attemptsMade === 0) attributes[ATTR.queueWaitMs] = Math.max(0, started - job.timestamp - (job.opts.delay ?? 0));
  return attributes;
}

/** Wall-clock time of a `performance.now()` reading, for spans recorded after the fact. */
const hrTimeAt = (perfNow: number): HrTime => {
  const ms = performance.timeOrigin + perfNow;
  return [Math.floor(ms / 1000), Math.floor((ms % 1000) * 1e6)];
};

/** Batches whose sinks are kept open; a consumer rarely works on more at once. */
const SINK_CACHE_SIZE = 32;

/** A batch id that names one folder (the producer's are UUIDs); `..` or `a/b` would not. */
const PLAIN_BATCH_ID = /^[\w-]{1,100}$/;

export class ChunkProcessor {
  /** One sink per batch (it creates the batch folder once), most recently used last. */
  private readonly sinks = new Map<string, OutputSink>();

  constructor(private readonly options: ChunkProcessorOptions) {}

  /**
   * The sink of the chunk's batch. Its location is checked when the sink is opened (once per
   * batch): it must lie inside this consumer's `OUTPUT_URL`, symbolic links followed, else
   * {@link OutputRefusedError}. The producer checks requests against the same rule; this
   * keeps a chunk written to Redis by anyone else from directing writes anywhere.
   */
  private sinkFor(chunk: ChunkData): OutputSink {
    const key = `${chunk.outputUrl}\n${chunk.batchId}`;
    let sink = this.sinks.get(key);
    if (sink) this.sinks.delete(key);
    else {
      this.checkOutputLocation(chunk);
      sink = openBatchSink(chunk.outputUrl, chunk.batchId);
    }
    this.sinks.set(key, sink);
    if (this.sinks.size > SINK_CACHE_SIZE) this.sinks.delete(this.sinks.keys().next().value as string);
    return sink;
  }

  private checkOutputLocation(chunk: ChunkData): void {
    const root = this.options.outputRoot;
    if (!PLAIN_BATCH_ID.test(chunk.batchId))
      throw new OutputRefusedError(`chunk batch id ${JSON.stringify(chunk.batchId)} is not a plain folder name`);
    let inside: boolean;
    try {
      inside = isReallyWithinRoot(chunk.outputUrl, root);
    } catch {
      inside = false; // not a usable local location at all
    }
    if (!inside)
      throw new OutputRefusedError(`chunk output location ${String(chunk.outputUrl)} is outside this consumer's OUTPUT_URL ${root}`);
  }

  /** The BullMQ processor. `signal` aborts when the worker is draining past its deadline. */
  async process(job: Job<ChunkEventJson>, token: string | undefined, signal?: AbortSignal): Promise<ChunkOutcome> {
    let chunk: ChunkData;
    let parentContext: Context;
    try {
      ({ data: chunk, parentContext } = readChunkEvent(job.data));
    } catch (err) {
      if (err instanceof InvalidChunkEventError) throw new UnrecoverableError(err.message);
      throw err;
    }
    // The chunk's span continues the trace its event carries; every log line of the chunk
    // is written inside it and so carries the batch's trace id.
    const options = { kind: SpanKind.CONSUMER, attributes: chunkSpanAttributes(job, chunk) };
    return tracer.startActiveSpan(`process ${CHUNK_QUEUE}`, options, parentContext, async (span) => {
      try {
        const outcome = await this.processInSpan(job, chunk, token, signal);
        span.setAttribute(ATTR.chunkOutcome, outcome);
        return outcome;
      } catch (err) {
        if (err instanceof WaitingError) span.setAttribute(ATTR.chunkOutcome, 'returned');
        else {
          span.setAttribute(ATTR.chunkOutcome, err instanceof ChunkFailedError ? 'failed' : 'retry');
          recordError(span, err);
        }
        throw err;
      } finally {
        span.end();
      }
    });
  }

  private async processInSpan(
    job: Job<ChunkEventJson>,
    chunk: ChunkData,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<ChunkOutcome> {
    const log = this.options.logger.child({ batch_id: chunk.batchId, chunk_index: chunk.chunkIndex, job_id: job.id });
    const state = await this.options.store.getState(chunk.batchId);
    if (!state || state.halted) {
      log.info({ status: state?.status ?? 'unknown' }, 'chunk skipped: batch is gone or halted');
      return 'skipped';
    }
    // Wait is per attempt: measured from when this attempt became runnable, not from the
    // chunk's creation. Unknown (after a stall) is left out rather than guessed.
    const waitSeconds = await this.options.clock.waitSeconds(job).catch((err: unknown) => {
      log.warn({ err }, 'could not read when the chunk became runnable');
      return undefined;
    });
    if (waitSeconds !== undefined) trace.getActiveSpan()?.setAttribute(ATTR.queueWaitMs, Math.round(waitSeconds * 1000));
    const attempt: Attempt = { tally: this.options.meter.start(), waitSeconds, accounted: false };
    try {
      await this.run(chunk, log, attempt, signal);
      return 'done';
    } catch (err) {
      // Failing after the chunk was accounted (e.g. while closing the batch): its cost is booked.
      const usage = attempt.accounted ? NO_USAGE : this.usage(attempt);
      if (signal?.aborted && token) {
        // Shutting down: hand the chunk back untouched for another consumer. Its part may
        // already be written; the next consumer replaces it whole. Its records are not
        // accounted, only what the cut-short attempt cost.
        await this.recordRequeue(job, chunk, usage, SHUTDOWN, log);
        await job.moveToWait(token);
        log.info('chunk handed back to the queue (consumer shutting down)');
        throw new WaitingError();
      }
      const attempts = job.opts.attempts ?? 1;
      const final = err instanceof UnrecoverableError || err instanceof BatchinferError || job.attemptsMade + 1 >= attempts;
      const reason = err instanceof Error ? err.message : String(err);
      if (!final) {
        log.warn({ err, attempt: job.attemptsMade + 1, attempts }, 'chunk attempt failed; will retry');
        await this.recordRequeue(job, chunk, usage, failureReason(err), log, err);
        throw err;
      }
      await this.recordFailure(chunk, reason, log, { reason: failureReason(err), usage });
      throw new ChunkFailedError(reason);
    } finally {
      attempt.tally.stop();
    }
  }

  /** An attempt's usage and timings, with its allocated cost. */
  private usage({ tally, waitSeconds }: Attempt): AttemptUsage {
    const { wallSeconds, cpuSeconds } = tally.stop();
    const cost = chunkCost(wallSeconds, this.options.rates, this.options.concurrency);
    return {
      costUsd: cost.usd,
      cpuSeconds,
      allocatedCpuSeconds: cost.allocatedCpuSeconds,
      wallSeconds,
      wait: observe(waitSeconds, WAIT_BUCKETS),
      processing: observe(wallSeconds, PROCESSING_BUCKETS),
    };
  }

  /**
   * An attempt that ends without finishing the chunk (retry or hand-back) still cost
   * something, and tells the next attempt when it became runnable. Best effort: failing
   * here must not hide the attempt's own error.
   */
  private async recordRequeue(job: Job, chunk: ChunkData, usage: AttemptUsage, reason: string, log: Logger, err?: unknown): Promise<void> {
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
   * Per-record spans, when opted in: a sample of the chunk's records, each under the span
   * of the step that decided its fate (inference for predictions, preparation for errors).
   */
  private recordSpans(
    parent: Context,
    start: HrTime,
    end: HrTime,
    rows: Array<{ id?: string | number; line: number; error?: string }>,
  ): void {
    const ratio = this.options.recordSampleRatio ?? 0;
    if (ratio <= 0) return;
    for (const row of rows) {
      if (Math.random() >= ratio) continue;
      const attributes: Record<string, string | number> = {
        [ATTR.recordLine]: row.line,
        [ATTR.recordOutcome]: row.error ? 'error' : 'predicted',
      };
      if (row.id !== undefined) attributes[ATTR.recordId] = row.id;
      if (row.error) attributes[ATTR.recordError] = row.error;
      tracer.startSpan('batchinfer.record', { startTime: start, attributes }, parent).end(end);
    }
  }

  private async run(chunk: ChunkData, log: Logger, attempt: Attempt, signal?: AbortSignal): Promise<void> {
    // First: a chunk that may not write where it asks to is refused before any work.
    const sink = this.sinkFor(chunk);
    const ref = parseModelRef(chunk.model, { modelRoot: this.options.modelRoot });
    const model = await inSpan('batchinfer.model.load', attrs({ [ATTR.model]: chunk.model }), () => loadModel(ref));
    signal?.throwIfAborted();

    const prepareStart = performance.now();
    const { valid, errors } = inSpanSync('batchinfer.data.prepare', attrs({ [ATTR.chunkRecords]: chunk.records.length }), (span) => {
      const prepared = prepareRecords(chunk, model.inputSize);
      span.setAttributes({ [ATTR.recordsSucceeded]: prepared.valid.length, [ATTR.recordsFailed]: prepared.errors.length });
      this.recordSpans(context.active(), hrTimeAt(prepareStart), hrTimeAt(performance.now()), prepared.errors);
      return prepared;
    });

    const predictSpan = tracer.startSpan(
      'batchinfer.model.predict',
      attrs({ [ATTR.model]: model.name, [ATTR.chunkRecords]: valid.length }),
    );
    const inferStart = performance.now();
    let predictions: Prediction[];
    try {
      const output =
        valid.length > 0
          ? model.predict(
              valid.map((r) => r.features),
              { signal },
            )
          : [];
      predictions = output instanceof Promise ? await output : output;
    } catch (err) {
      recordError(predictSpan, err);
      throw err;
    } finally {
      predictSpan.end();
    }
    const inferEnd = performance.now();
    const latencyMs = inferEnd - inferStart;
    if (predictions.length !== valid.length) {
      throw new UnrecoverableError(`model returned ${predictions.length} predictions for ${valid.length} records`);
    }
    this.recordSpans(trace.setSpan(context.active(), predictSpan), hrTimeAt(inferStart), hrTimeAt(inferEnd), valid);

    // Serialising and writing the part and error files, whole.
    const writeSpan = tracer.startSpan('batchinfer.output.write');
    const part = valid.length > 0 ? predictionLines(valid, predictions) : undefined;
    const errorLines = errors.length > 0 ? toJsonLines(errors) : undefined;
    writeSpan.setAttribute(ATTR.outputBytes, (part?.length ?? 0) + (errorLines?.length ?? 0));
    try {
      signal?.throwIfAborted();
      await Promise.all([
        part ? sink.write(partName(chunk.chunkIndex), part) : sink.remove(partName(chunk.chunkIndex)),
        errorLines ? sink.write(errorsName(chunk.chunkIndex), errorLines) : sink.remove(errorsName(chunk.chunkIndex)),
      ]);
    } catch (err) {
      recordError(writeSpan, err);
      throw err;
    } finally {
      writeSpan.end();
    }

    let predictionSum = 0;
    let predictionCount = 0;
    for (const p of predictions) {
      if (typeof p === 'number') {
        predictionSum += p;
        predictionCount++;
      }
    }
    const usage = this.usage(attempt);
    await this.account(
      chunk,
      log,
      { succeeded: valid.length, failed: errors.length, predictionSum, predictionCount, latencyMs, chunkFailed: false, ...usage },
      () => (attempt.accounted = true),
    );
    log.debug({ records: valid.length, record_errors: errors.length, wall_ms: Math.round(usage.wallSeconds * 1000) }, 'chunk done');
  }

  /**
   * A chunk that failed for good: all its records go to its error file, and it counts as
   * failed, with the cost of its last attempt when it ran one. A chunk whose output location
   * is refused writes nothing anywhere; it is only counted.
   */
  async recordFailure(chunk: ChunkData, reason: string, log: Logger, failure: FinalFailure): Promise<void> {
    const errors = allRecordErrors(chunk, `chunk failed: ${reason}`);
    let sink: OutputSink | undefined;
    try {
      sink = this.sinkFor(chunk);
    } catch (err) {
      if (!(err instanceof OutputRefusedError)) throw err;
    }
    if (sink) {
      await sink.remove(partName(chunk.chunkIndex));
      if (errors.length > 0) await sink.write(errorsName(chunk.chunkIndex), toJsonLines(errors));
      else await sink.remove(errorsName(chunk.chunkIndex));
    }
    await this.account(chunk, log, {
      succeeded: 0,
      failed: errors.length,
      predictionSum: 0,
      predictionCount: 0,
      latencyMs: 0,
      chunkFailed: true,
      failureReason: failure.reason,
      ...(failure.usage ?? NO_USAGE),
    });
    log.error({ reason, failure_reason: failure.reason, records: errors.length }, 'chunk failed after all attempts');
  }

  /** Counts the chunk in Redis; the chunk that completes the batch closes it (inside this span). */
  private async account(chunk: ChunkData, log: Logger, result: ChunkResult, onAccounted?: () => void): Promise<void> {
    await inSpan('batchinfer.batch.account', attrs({ [ATTR.batchId]: chunk.batchId, [ATTR.chunkIndex]: chunk.chunkIndex }), async () => {
      const signal = await this.options.store.recordChunk(chunk.batchId, chunk.chunkIndex, result);
      onAccounted?.();
      if (signal === 'close') await this.options.closer.close(chunk.batchId);
      else if (signal === 'gone') log.warn('batch state is gone (expired or deleted); chunk output written but not accounted');
    });
  }
}
