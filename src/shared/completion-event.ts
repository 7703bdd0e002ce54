/**
 * The `batch.completed` CloudEvent (`dev.batchinfer.batch.completed.v1`): sent once per
 * batch, when it reaches `completed` or `failed`, to `K_SINK` (a Knative SinkBinding), in
 * binary mode with the batch's trace context as `ce-traceparent`. `K_CE_OVERRIDES`
 * extensions are added to it (the CloudEvents core attributes and the trace context are
 * this event's own and are not overridden).
 */
import { context } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { CloudEvent } from 'cloudevents';
import type { Logger } from 'pino';
import type { Manifest } from './batch-closer.js';
import { traceHeaders } from './chunk-event.js';
import { deliverBinary } from './event-delivery.js';
import type { DeliveryOptions } from './event-delivery.js';
import { MANIFEST_NAME } from './sinks/open-sink.js';

export const COMPLETION_EVENT_TYPE = 'dev.batchinfer.batch.completed.v1';
export const COMPLETION_EVENT_SOURCE = '/batchinfer/batches';

/** The event's data: what a downstream step needs without reading the manifest. */
export interface BatchCompletedData {
  batchId: string;
  status: Manifest['status'];
  model: string;
  labels: Record<string, string>;
  records: { total: number; succeeded: number; failed: number };
  chunks: { total: number | null; completed: number; failed: number };
  cost: Manifest['cost'];
  output: { url: string; manifest: string; parts: number; errorFiles: number };
  summary: Pick<Manifest, 'total_records' | 'avg_prediction' | 'total_latency_ms' | 'avg_latency_ms' | 'total_cost_usd' | 'cost_per_record_usd'>;
  createdAt: string;
  completedAt: string;
  durationMs: number;
  error?: string;
  traceId?: string;
}

/** Attributes an override may not replace. */
const RESERVED = new Set(['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema', 'data', 'traceparent', 'tracestate']);

export function completionData(manifest: Manifest): BatchCompletedData {
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
    summary: {
      total_records: manifest.total_records,
      avg_prediction: manifest.avg_prediction,
      total_latency_ms: manifest.total_latency_ms,
      avg_latency_ms: manifest.avg_latency_ms,
      total_cost_usd: manifest.total_cost_usd,
      cost_per_record_usd: manifest.cost_per_record_usd,
    },
    createdAt: manifest.timings.createdAt,
    completedAt: manifest.timings.completedAt,
    durationMs: manifest.timings.durationMs,
  };
  if (manifest.error) data.error = manifest.error;
  if (manifest.traceId) data.traceId = manifest.traceId;
  return data;
}

/**
 * Builds the event. `id` is the batch id, so a receiver deduplicates a re-delivery on
 * `source` + `id`; the trace context of `ctx` (the closing span) rides as `traceparent`.
 */
export function buildCompletionEvent(manifest: Manifest, overrides: Record<string, string> = {}, ctx: Context = context.active()): CloudEvent<BatchCompletedData> {
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(overrides)) if (!RESERVED.has(name)) extensions[name] = value;
  return new CloudEvent<BatchCompletedData>({
    ...extensions,
    specversion: '1.0',
    type: COMPLETION_EVENT_TYPE,
    source: COMPLETION_EVENT_SOURCE,
    id: manifest.batchId,
    subject: manifest.batchId,
    time: manifest.timings.completedAt,
    datacontenttype: 'application/json',
    data: completionData(manifest),
    ...traceHeaders(ctx),
  });
}

/** Builds and delivers the `batch.completed` event of a closed batch to `sink`. */
export async function sendCompletionEvent(
  manifest: Manifest,
  sink: string,
  overrides: Record<string, string>,
  logger: Logger,
  options?: DeliveryOptions,
): Promise<void> {
  const log = logger.child({ batch_id: manifest.batchId });
  const event = buildCompletionEvent(manifest, overrides);
  const result = await deliverBinary(sink, event, log, options);
  if (result.delivered) log.info({ attempts: result.attempts, status: result.status }, 'batch.completed event delivered');
  else log.error({ attempts: result.attempts, status: result.status, error: result.error }, 'batch.completed event not delivered');
}
