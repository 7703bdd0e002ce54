/**
 * The `batch.completed` CloudEvent (`dev.batchinfer.batch.completed.v1`): sent once per
 * batch, when it reaches a final status, to `K_SINK` (a Knative SinkBinding), in binary mode
 * with the batch's trace context as `ce-traceparent`. `K_CE_OVERRIDES` extensions are added
 * to it (the CloudEvents core attributes and the trace context are this event's own and are
 * not overridden).
 *
 * Every batch ends with one: `completed` or `failed` when it closed (manifest written), and
 * also `failed` when its ingest failed and `cancelled` when it was cancelled (no manifest, the
 * counts so far). A receiver waiting for a batch (a nightly PingSource run, a pipeline's next
 * step) therefore always hears how it ended, and tells the cases apart by `status`.
 */
import { context } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { CloudEvent } from 'cloudevents';
import type { Logger } from 'pino';
import type { BatchEnding, Manifest } from '../batch/batch-closer.js';
import { traceHeaders } from './chunk-event.js';
import { deliverBinary } from './event-delivery.js';
import type { DeliveryOptions } from './event-delivery.js';
import { MANIFEST_NAME } from '../io/sinks/output-layout.js';
import type { BatchSummary, BatchView } from '../types.js';

export const COMPLETION_EVENT_TYPE = 'dev.batchinfer.batch.completed.v1';
export const COMPLETION_EVENT_SOURCE = '/batchinfer/batches';

/** The event's data: what a downstream step needs without reading the manifest. */
export interface BatchCompletedData {
  batchId: string;
  status: 'completed' | 'failed' | 'cancelled';
  model: string;
  labels: Record<string, string>;
  /** Records processed (`total` = succeeded + failed); for a halted batch, so far. */
  records: { total: number; succeeded: number; failed: number };
  /** `total` is null when the batch ended before its ingest finished. */
  chunks: { total: number | null; completed: number; failed: number };
  cost: Manifest['cost'];
  /**
   * The batch's output folder. `manifest` and `errorFiles` only when a manifest was written
   * (the batch closed); a halted batch gives the number of parts written so far.
   */
  output: { url: string; manifest?: string; parts: number; errorFiles?: number };
  summary: BatchSummary;
  createdAt: string;
  completedAt: string;
  durationMs: number;
  error?: string;
  /** The error's stable code: the halt's (e.g. `DATASET_NOT_FOUND`) or the first failed chunk's. */
  errorCode?: string;
  traceId?: string;
}

/** Attributes an override may not replace. */
const RESERVED = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'traceparent',
  'tracestate',
]);

/** The event's data for a batch that ended, closed or halted. */
export function completionData(ending: BatchEnding): BatchCompletedData {
  return ending.kind === 'closed' ? closedData(ending.manifest) : haltedData(ending.view, ending.summary);
}

function summaryOf(s: BatchSummary): BatchSummary {
  return {
    total_records: s.total_records,
    avg_prediction: s.avg_prediction,
    total_latency_ms: s.total_latency_ms,
    avg_latency_ms: s.avg_latency_ms,
    total_cost_usd: s.total_cost_usd,
    cost_per_record_usd: s.cost_per_record_usd,
  };
}

function closedData(manifest: Manifest): BatchCompletedData {
  const data: BatchCompletedData = {
    batchId: manifest.batchId,
    status: manifest.status,
    model: manifest.model,
    labels: manifest.labels,
    records: {
      total: manifest.total_records,
      succeeded: manifest.counts.records.succeeded,
      failed: manifest.counts.records.failed,
    },
    chunks: { total: manifest.counts.chunks.total, completed: manifest.counts.chunks.completed, failed: manifest.counts.chunks.failed },
    cost: manifest.cost,
    output: {
      url: manifest.output,
      manifest: `${manifest.output.replace(/\/$/, '')}/${MANIFEST_NAME}`,
      parts: manifest.parts.length,
      errorFiles: manifest.errorFiles.length,
    },
    summary: summaryOf(manifest),
    createdAt: manifest.timings.createdAt,
    completedAt: manifest.timings.completedAt,
    durationMs: manifest.timings.durationMs,
  };
  if (manifest.error) data.error = manifest.error;
  if (manifest.errorCode) data.errorCode = manifest.errorCode;
  if (manifest.traceId) data.traceId = manifest.traceId;
  return data;
}

function haltedData(view: BatchView, summary: BatchSummary): BatchCompletedData {
  const completedAt = view.completedAt ?? new Date().toISOString();
  const data: BatchCompletedData = {
    batchId: view.id,
    // A halt only ever moves a batch to failed or cancelled.
    status: view.status === 'cancelled' ? 'cancelled' : 'failed',
    model: view.model,
    labels: view.labels,
    records: { total: view.records.succeeded + view.records.failed, succeeded: view.records.succeeded, failed: view.records.failed },
    chunks: { total: view.chunks.total, completed: view.chunks.completed, failed: view.chunks.failed },
    cost: view.cost,
    output: { url: view.output.url, parts: view.output.parts },
    summary: summaryOf(summary),
    createdAt: view.createdAt,
    completedAt,
    durationMs: Date.parse(completedAt) - Date.parse(view.createdAt),
  };
  if (view.error) {
    data.error = view.error.message;
    data.errorCode = view.error.code;
  }
  if (view.traceId) data.traceId = view.traceId;
  return data;
}

/**
 * Builds the event. `id` is the batch id, so a receiver deduplicates a re-delivery on
 * `source` + `id`; the trace context of `ctx` (the closing span) rides as `traceparent`.
 */
export function buildCompletionEvent(
  ending: BatchEnding,
  overrides: Record<string, string> = {},
  ctx: Context = context.active(),
): CloudEvent<BatchCompletedData> {
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(overrides)) if (!RESERVED.has(name)) extensions[name] = value;
  const data = completionData(ending);
  return new CloudEvent<BatchCompletedData>({
    ...extensions,
    specversion: '1.0',
    type: COMPLETION_EVENT_TYPE,
    source: COMPLETION_EVENT_SOURCE,
    id: data.batchId,
    subject: data.batchId,
    time: data.completedAt,
    datacontenttype: 'application/json',
    data,
    ...traceHeaders(ctx),
  });
}

/** Builds and delivers the `batch.completed` event of a batch that ended to `sink`. */
export async function sendCompletionEvent(
  ending: BatchEnding,
  sink: string,
  overrides: Record<string, string>,
  logger: Logger,
  options?: DeliveryOptions,
): Promise<void> {
  const event = buildCompletionEvent(ending, overrides);
  const log = logger.child({ batch_id: event.id });
  const result = await deliverBinary(sink, event, log, options);
  if (result.delivered) log.info({ attempts: result.attempts, status: result.status }, 'batch.completed event delivered');
  else log.error({ attempts: result.attempts, status: result.status, error: result.error }, 'batch.completed event not delivered');
}
