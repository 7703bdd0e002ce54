/**
 * Processes one chunk: the BullMQ processor. It reads the chunk's CloudEvent, continues its
 * trace, skips chunks of halted batches, runs the {@link RecordPipeline} (parse, score, write
 * whole), and has {@link AttemptAccounting} book the attempt; on failure it decides between a
 * retry, a hand-back (shutdown) and a final failure. Retries of a chunk replace its files
 * and its counts, so nothing is ever counted twice.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { UnrecoverableError, WaitingError } from 'bullmq';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { BatchStore } from '../shared/batch/batch-store.js';
import type { SplitLineLedger } from '../shared/batch/split-lines.js';
import type { SplitWindow } from '../shared/batch/split-window.js';
import { CHUNK_QUEUE } from '../shared/batch/keys.js';
import { BatchinferError, ModelError, OutputRefusedError } from '../shared/errors.js';
import { InvalidChunkEventError, isSplitRef, isStreamedRef, readChunkEvent } from '../shared/events/chunk-event.js';
import type { ChunkEventData, ChunkEventJson } from '../shared/events/chunk-event.js';
import type { OutputSink } from '../shared/io/sinks/output-sink.js';
import { loadModel, parseModelRef } from '../shared/models/registry.js';
import type { Model, ModelContext } from '../shared/models/model.js';
import { ATTR, attrs, inSpan, MESSAGING, recordError, SPAN, tracer } from '../shared/observability/tracing.js';
import { parseChunk } from '../shared/formats/record-parser.js';
import type { ChunkContext, ChunkData } from '../shared/types.js';
import type { Attempt, AttemptAccounting, FinalFailure } from './attempt-accounting.js';
import type { BatchSinks } from './batch-sinks.js';
import type { ChunkReader, ReadChunk } from './chunk-reader.js';
import { failureReason, SHUTDOWN } from './failure-reason.js';
import { assertNotHalted, BatchHaltedError } from './halt-guard.js';
import type { RecordPipeline } from './record-pipeline.js';

export interface ChunkProcessorOptions {
  store: BatchStore;
  logger: Logger;
  models: ModelContext;
  sinks: BatchSinks;
  reader: ChunkReader;
  pipeline: RecordPipeline;
  accounting: AttemptAccounting;
  /** Where split chunks' line counts go (required to read splits). */
  splitLines?: SplitLineLedger;
  /** Queues the next splits of a batch's window as its splits are taken up. */
  splitWindow?: SplitWindow;
}

export type ChunkOutcome = 'done' | 'skipped' | 'failed';

/** A map that forgets its oldest entries past `max`: remembers recent batches, never grows unbounded. */
class BoundedMap<T> {
  private readonly items = new Map<string, T>();
  constructor(private readonly max: number) {}
  get(key: string): T | undefined {
    return this.items.get(key);
  }
  /** Sets `key`; false when it was already there (its value is kept). */
  set(key: string, value: T): boolean {
    if (this.items.has(key)) return false;
    this.items.set(key, value);
    if (this.items.size > this.max) this.items.delete(this.items.keys().next().value as string);
    return true;
  }
}

/** Thrown after a chunk's final failure has been accounted, so BullMQ marks the job failed. */
export class ChunkFailedError extends UnrecoverableError {
  readonly code = 'CHUNK_FAILED';
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
    ...(chunk.records ? { [ATTR.chunkRecords]: chunk.records.length } : {}),
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

/**
 * Named features fix the width of every record: a model taking another width fails the batch
 * at once (`MODEL_INPUT_MISMATCH`), instead of failing each record.
 */
function checkFeatureCount(model: Model, chunk: ChunkData): void {
  const features = chunk.schema?.features;
  if (!features || model.inputSize === undefined || model.inputSize === features.length) return;
  throw new ModelError(
    `model ${chunk.model} takes ${model.inputSize} features, got ${features.length} (features: ${features.join(', ')})`,
    { code: 'MODEL_INPUT_MISMATCH' },
  );
}

export class ChunkProcessor {
  /** Batches whose model info this process has noted (bounded: see {@link BoundedMap}). */
  private readonly noted = new BoundedMap<true>(1000);
  /** The fields of recent batches, for their streamed chunks. */
  private readonly contexts = new BoundedMap<ChunkContext>(1000);

  constructor(private readonly options: ChunkProcessorOptions) {}

  /** The BullMQ processor. `signal` aborts when the worker is draining past its deadline. */
  async process(job: Job<ChunkEventJson>, token: string | undefined, signal?: AbortSignal): Promise<ChunkOutcome> {
    let found: ChunkData | null;
    let parentContext: Context;
    try {
      const event = readChunkEvent(job.data);
      parentContext = event.parentContext;
      found = await this.chunkOf(event.data);
    } catch (err) {
      if (err instanceof InvalidChunkEventError) throw new UnrecoverableError(err.message);
      throw err;
    }
    if (!found) {
      this.options.logger.info({ job_id: job.id }, 'chunk skipped: its batch (or its plan) is gone');
      return 'skipped';
    }
    const chunk = found;
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

  /**
   * The chunk an event names: a split rebuilt from its batch's plan, a streamed chunk's
   * records with its batch's fields, an earlier build's whole chunk as it is (null when the
   * batch, or its plan, is gone).
   */
  async chunkOf(data: ChunkEventData): Promise<ChunkData | null> {
    if (isSplitRef(data)) {
      if (!this.options.splitWindow) throw new InvalidChunkEventError('this consumer reads no splits');
      return this.options.splitWindow.resolve(data);
    }
    if (!isStreamedRef(data)) return data;
    const context = await this.contextOf(data.batchId);
    return context ? { ...context, ...data } : null;
  }

  /** The batch's fields, read once per batch: they never change once its first chunk is queued. */
  private async contextOf(batchId: string): Promise<ChunkContext | null> {
    const known = this.contexts.get(batchId);
    if (known) return known;
    const context = await this.options.store.getChunkContext(batchId);
    if (context) this.contexts.set(batchId, context);
    return context;
  }

  private async processInSpan(
    job: Job<ChunkEventJson>,
    chunk: ChunkData,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<ChunkOutcome> {
    const { accounting } = this.options;
    const log = this.options.logger.child({ batch_id: chunk.batchId, chunk_index: chunk.chunkIndex, job_id: job.id });
    const state = await this.options.store.getChunkState(chunk.batchId, chunk.chunkIndex);
    if (!state || state.halted) {
      log.info({ status: state?.status ?? 'unknown' }, 'chunk skipped: batch is gone or halted');
      return 'skipped';
    }
    if (state.chunkAccounted) {
      await accounting.settleAccounted(chunk);
      log.info('chunk skipped: already accounted (enqueued again by a resumed ingest, or its consumer died after accounting)');
      return 'skipped';
    }
    const modelError = state.modelError;
    const attempt = await accounting.begin(job, log);
    log.debug({ attempt: job.attemptsMade + 1 }, 'chunk started');
    if (attempt.waitSeconds !== undefined) trace.getActiveSpan()?.setAttribute(ATTR.queueWaitMs, Math.round(attempt.waitSeconds * 1000));
    try {
      // First, whatever this attempt's fate: every split taken up keeps the window queued.
      if (chunk.split) await this.options.splitWindow?.topUp(chunk.batchId, chunk.chunkIndex);
      // A model failure another chunk met fails this one fast, through the same accounting.
      if (modelError) throw new ModelError(modelError.message, { code: modelError.code });
      await this.run(chunk, attempt, log, signal);
      return 'done';
    } catch (err) {
      if (err instanceof ModelError && !modelError) await this.noteModelFailure(chunk, err, log);
      // Failing after the chunk was accounted (e.g. while closing the batch): its cost is booked.
      const usage = accounting.usage(attempt);
      if (err instanceof BatchHaltedError) {
        // Cancelled while in hand: nothing written, no records counted; what it cost is booked.
        await accounting.dropped(chunk, usage, log);
        log.info({ status: err.status }, 'chunk dropped before writing: its batch was cancelled or halted');
        return 'skipped';
      }
      if (signal?.aborted && token) {
        // Shutting down: hand the chunk back untouched for another consumer. Its part may
        // already be written; the next consumer replaces it whole. Its records are not
        // accounted, only what the cut-short attempt cost.
        await accounting.requeued(job, chunk, usage, SHUTDOWN, log);
        await job.moveToWait(token);
        log.info('chunk handed back to the queue (consumer shutting down)');
        throw new WaitingError();
      }
      const attempts = job.opts.attempts ?? 1;
      const final = err instanceof UnrecoverableError || err instanceof BatchinferError || job.attemptsMade + 1 >= attempts;
      const reason = err instanceof Error ? err.message : String(err);
      if (!final) {
        log.warn({ err, attempt: job.attemptsMade + 1, attempts }, 'chunk attempt failed; will retry');
        await accounting.requeued(job, chunk, usage, failureReason(err), log, err);
        throw err;
      }
      await this.recordFailure(chunk, reason, log, { reason: failureReason(err), message: reason, attempts: job.attemptsMade + 1, usage });
      throw new ChunkFailedError(reason);
    } finally {
      attempt.tally.stop();
    }
  }

  private async run(chunk: ChunkData, attempt: Attempt, log: Logger, signal?: AbortSignal): Promise<void> {
    // First: a chunk that may not write where it asks to is refused before any work.
    const sink = this.options.sinks.for(chunk);
    const spec = parseModelRef(chunk.model, this.options.models);
    const model = await inSpan(SPAN.modelLoading, attrs({ [ATTR.model]: chunk.model }), () => loadModel(spec));
    checkFeatureCount(model, chunk);
    signal?.throwIfAborted();
    const read = await this.options.reader.read(chunk, signal);
    await this.recordSplitLines(chunk, read);
    const scored = await this.options.pipeline.score(read.chunk, model, sink, signal, () =>
      assertNotHalted(this.options.store, chunk.batchId),
    );
    // Before the chunk is accounted: the chunk that completes the batch writes the manifest.
    if (model.info && this.noted.set(chunk.batchId, true)) await this.options.store.modelNotes.noteInfo(chunk.batchId, model.info);
    await this.options.accounting.done(chunk, attempt, scored, log);
    log.debug({ records: scored.succeeded, record_errors: scored.failed }, 'chunk done');
  }

  /** A split's line count, recorded before its chunk is accounted (the closer places its lines with it). */
  private async recordSplitLines(chunk: ChunkData, read: ReadChunk): Promise<void> {
    if (!chunk.split || read.splitLines === undefined || !this.options.splitLines) return;
    await this.options.splitLines.record(chunk.batchId, chunk.chunkIndex, chunk.split, read.splitLines);
  }

  /** Notes a model failure on the batch, so its other chunks fail fast (best effort). */
  private async noteModelFailure(chunk: ChunkData, err: ModelError, log: Logger): Promise<void> {
    try {
      await this.options.store.modelNotes.noteFailure(chunk.batchId, { code: err.code, message: err.message });
    } catch (noteErr) {
      log.warn({ err: noteErr }, 'could not note the model failure on the batch');
    }
  }

  /**
   * A chunk that failed for good: all its records go to its error file, and it counts as
   * failed, with the cost of its last attempt when it ran one. A chunk whose output location
   * is refused writes nothing anywhere; it is only counted.
   */
  async recordFailure(chunk: ChunkData, reason: string, log: Logger, failure: FinalFailure): Promise<void> {
    let sink: OutputSink | undefined;
    try {
      sink = this.options.sinks.for(chunk);
    } catch (err) {
      if (!(err instanceof OutputRefusedError)) throw err;
    }
    // A halted batch gets no error file either (it would land after the cancel).
    if (sink) {
      const state = await this.options.store.getState(chunk.batchId);
      if (!state || state.halted) sink = undefined;
    }
    // The records are read again to name each one in the error file.
    const read = await this.options.reader.read(chunk, undefined, 'lenient').catch((err: unknown): ReadChunk => {
      if (!chunk.split) throw err;
      // A split whose bytes are gone (the object changed): its lines cannot be named, or counted.
      log.error({ err }, 'split unreadable: its records cannot be listed in the error file');
      return { chunk: { ...chunk, records: [] } };
    });
    await this.recordSplitLines(chunk, read);
    const parsed = parseChunk(read.chunk);
    let records: number;
    try {
      records = await this.options.pipeline.writeFailed(chunk, parsed, sink, `chunk failed: ${reason}`);
    } catch (err) {
      // The output location itself is broken (often why the chunk failed): the chunk is
      // still counted as failed, or its batch would never end.
      log.error({ err }, "could not write the failed chunk's error file");
      records = parsed.records.length + parsed.errors.length;
    }
    await this.options.accounting.failed(chunk, records, failure, log);
    log.error({ reason, failure_reason: failure.reason, records }, 'chunk failed after all attempts');
  }
}
