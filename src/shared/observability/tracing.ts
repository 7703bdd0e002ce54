/**
 * Spans, as the rest of the code creates them: one tracer, the attribute names this project
 * uses, and helpers that make a span the active one (so pino lines written inside carry its
 * `trace_id`/`span_id`) and close it whatever happens. Only the OTel API is imported: with
 * tracing disabled every call here is a cheap no-op.
 *
 * Attribute names follow the OTel semantic conventions where they exist (messaging, HTTP);
 * project attributes live under `batchinfer.*`.
 */
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, SpanOptions } from '@opentelemetry/api';

export const tracer = trace.getTracer('batchinfer');

/** Project attributes. Batch ids are fine on spans (unlike metric labels): spans are per event. */
export const ATTR = {
  batchId: 'batchinfer.batch.id',
  batchStatus: 'batchinfer.batch.status',
  chunkIndex: 'batchinfer.chunk.index',
  chunkRecords: 'batchinfer.chunk.records',
  chunkAttempt: 'batchinfer.chunk.attempt',
  chunkOutcome: 'batchinfer.chunk.outcome',
  /** Time the chunk spent on the queue before this (first) attempt started, ms. */
  queueWaitMs: 'batchinfer.queue.wait_ms',
  /** Time since the chunk was first enqueued, ms (includes earlier attempts and backoff). */
  sinceEnqueuedMs: 'batchinfer.chunk.since_enqueued_ms',
  recordsSucceeded: 'batchinfer.records.succeeded',
  recordsFailed: 'batchinfer.records.failed',
  recordId: 'batchinfer.record.id',
  recordLine: 'batchinfer.record.line',
  recordOutcome: 'batchinfer.record.outcome',
  recordError: 'batchinfer.record.error',
  model: 'batchinfer.model',
  /** Records per model call (`MODEL_BATCH_SIZE`, or the chunk up to 1024). */
  modelSubBatchSize: 'batchinfer.model.sub_batch_size',
  /** Model calls a chunk took (more than records / sub-batch size when a failing record was isolated). */
  modelCalls: 'batchinfer.model.calls',
  outputBytes: 'batchinfer.output.bytes',
  datasetScheme: 'batchinfer.dataset.scheme',
  datasetHost: 'batchinfer.dataset.host',
  datasetPath: 'batchinfer.dataset.path',
  datasetFormat: 'batchinfer.dataset.format',
  chunkCount: 'batchinfer.chunks',
  recordCount: 'batchinfer.records',
  costUsd: 'batchinfer.cost.usd',
} as const;

/**
 * Span names of a chunk's steps, as the scaling lab names them (its dashboards and queries
 * look for these).
 */
export const SPAN = {
  modelLoading: 'model_loading',
  dataPreparation: 'data_preparation',
  modelInference: 'model_inference',
} as const;

/** OTel messaging semantic conventions (v1.2x+), for the chunk queue and the completion event. */
export const MESSAGING = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  batchMessageCount: 'messaging.batch.message_count',
  /** BullMQ has no registered `messaging.system` value; the convention allows custom ones. */
  bullmq: 'bullmq',
} as const;

/** Marks a span failed with the error that ended it. */
export function recordError(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  else span.recordException(String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * Runs `fn` inside a new active span (child of `parent`, default the active context), marks
 * the span failed if `fn` throws, and always ends it.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** {@link inSpan} for synchronous work (keeps CPU-time measurement free of awaits). */
export function inSpanSync<T>(name: string, options: SpanOptions, fn: (span: Span) => T, parent: Context = context.active()): T {
  return tracer.startActiveSpan(name, options, parent, (span) => {
    try {
      return fn(span);
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Shorthand for span options with attributes only. */
export const attrs = (attributes: Attributes): SpanOptions => ({ attributes });

/** The trace id of the active span, when there is a valid one (for logs, manifests, status). */
export function activeTraceId(ctx: Context = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
