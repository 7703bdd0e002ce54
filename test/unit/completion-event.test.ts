import { HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import type { BatchEnding, Manifest } from '../../src/shared/batch/batch-closer.js';
import { buildCompletionEvent, COMPLETION_EVENT_TYPE } from '../../src/shared/events/completion-event.js';
import type { BatchView } from '../../src/shared/types.js';

const manifest: Manifest = {
  batchId: 'b-42',
  status: 'completed',
  model: 'sum',
  datasetUrl: 'https://data.example/x.jsonl',
  labels: { team: 'risk' },
  output: 'file:///out/b-42',
  parts: ['part-00000.jsonl', 'part-00001.jsonl'],
  errorFiles: ['errors-00001.jsonl'],
  counts: {
    records: { total: 10, read: 10, succeeded: 9, failed: 1 },
    chunks: { total: 2, enqueued: 2, completed: 2, failed: 0 },
  },
  failedChunks: [],
  cost: { usd: 0.002, cpuSeconds: 0.1, allocatedCpuSeconds: 0.1667, wallSeconds: 0.3, usdPerRecord: 0.0002, efficiency: 0.6 },
  timings: {
    createdAt: '2025-01-01T00:00:00.000Z',
    ingestedAt: '2025-01-01T00:00:01.000Z',
    completedAt: '2025-01-01T00:00:02.000Z',
    durationMs: 2000,
  },
  total_records: 10,
  avg_prediction: 3.5,
  total_latency_ms: 1.5,
  avg_latency_ms: 0.16,
  total_cost_usd: 0.002,
  cost_per_record_usd: 0.0002,
  traceId: '0af7651916cd43dd8448eb211c80319c',
};

describe('batch.completed CloudEvent', () => {
  it('is a binary-mode event keyed by the batch id, with counts, cost and the output location', () => {
    const { headers, body } = HTTP.binary(buildCompletionEvent({ kind: 'closed', manifest }));
    expect(headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-type': COMPLETION_EVENT_TYPE,
      'ce-id': 'b-42',
      'ce-subject': 'b-42',
      'ce-time': '2025-01-01T00:00:02.000Z',
      'content-type': 'application/json',
    });
    expect(JSON.parse(String(body))).toMatchObject({
      batchId: 'b-42',
      status: 'completed',
      records: { total: 10, succeeded: 9, failed: 1 },
      chunks: { total: 2, completed: 2, failed: 0 },
      cost: { usd: 0.002, cpuSeconds: 0.1 },
      output: { url: 'file:///out/b-42', manifest: 'file:///out/b-42/manifest.json', parts: 2, errorFiles: 1 },
      summary: { total_records: 10, avg_prediction: 3.5 },
      traceId: manifest.traceId,
    });
  });

  it('adds K_CE_OVERRIDES extensions but never replaces its own attributes', () => {
    const event = buildCompletionEvent({ kind: 'closed', manifest }, { team: 'risk', type: 'spoofed', id: 'spoofed', traceparent: 'x' });
    const { headers } = HTTP.binary(event);
    expect(headers['ce-team']).toBe('risk');
    expect(headers['ce-type']).toBe(COMPLETION_EVENT_TYPE);
    expect(headers['ce-id']).toBe('b-42');
    expect(headers['ce-traceparent']).toBeUndefined();
  });

  it('reports a batch halted by its ingest as failed, with its error code and counts so far, and no manifest', () => {
    const view: BatchView = {
      id: 'b-43',
      status: 'failed',
      model: 'sum',
      datasetUrl: 'https://data.example/x.jsonl',
      labels: { team: 'risk' },
      chunks: { total: null, enqueued: 3, completed: 2, failed: 0 },
      records: { total: null, read: 30, succeeded: 19, failed: 1 },
      cost: manifest.cost,
      output: { url: 'file:///out/b-43', parts: 2 },
      failedChunks: [],
      failures: {},
      createdAt: '2025-01-01T00:00:00.000Z',
      ingestedAt: null,
      completedAt: '2025-01-01T00:00:05.000Z',
      error: { code: 'DATASET_NOT_FOUND', message: 'ingest failed: dataset answered HTTP 404' },
      errorCode: 'DATASET_NOT_FOUND',
      traceId: manifest.traceId ?? '',
    };
    const summary = { ...manifest, total_records: 20 };
    const halted: BatchEnding = { kind: 'halted', view, summary };
    const { headers, body } = HTTP.binary(buildCompletionEvent(halted));
    expect(headers).toMatchObject({ 'ce-type': COMPLETION_EVENT_TYPE, 'ce-id': 'b-43', 'ce-time': '2025-01-01T00:00:05.000Z' });
    const data = JSON.parse(String(body)) as Record<string, unknown>;
    expect(data).toMatchObject({
      batchId: 'b-43',
      status: 'failed',
      error: 'ingest failed: dataset answered HTTP 404',
      errorCode: 'DATASET_NOT_FOUND',
      records: { total: 20, succeeded: 19, failed: 1 },
      chunks: { total: null, completed: 2, failed: 0 },
      output: { url: 'file:///out/b-43', parts: 2 },
      summary: { total_records: 20 },
      durationMs: 5000,
      traceId: manifest.traceId,
    });
    expect(data.output).not.toHaveProperty('manifest');
    // Only the summary's own fields, not the rest of what was passed.
    expect(Object.keys(data.summary as object).sort()).toEqual([
      'avg_latency_ms',
      'avg_prediction',
      'cost_per_record_usd',
      'total_cost_usd',
      'total_latency_ms',
      'total_records',
    ]);

    const cancelled = buildCompletionEvent({
      kind: 'halted',
      view: { ...view, status: 'cancelled', error: { code: 'BATCH_CANCELLED', message: 'cancelled by request' } },
      summary,
    });
    expect(cancelled.data).toMatchObject({ status: 'cancelled', error: 'cancelled by request', errorCode: 'BATCH_CANCELLED' });
  });
});
