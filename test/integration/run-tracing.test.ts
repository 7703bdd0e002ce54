/**
 * `batchinfer run` traces too when OTel is configured: its consumer processes inherit the
 * OTel environment, and the whole run is one trace under a `batchinfer run` root span.
 * Per-record spans appear only when opted in. With nothing configured, nothing about
 * tracing shows: no spans, no OTel diagnostics, no trace ids.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { OtlpGrpcReceiver } from '../helpers/otlp-grpc-receiver.js';
import { OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

let dir: string;
let redis: LocalRedis;
let receiver: OtlpReceiver;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-run-trace-'));
  [redis, receiver] = await Promise.all([startTestRedis(), new OtlpReceiver().start()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), receiver?.stop()]);
});

describe('batchinfer run with tracing', () => {
  it('is one trace from the run to every consumer, with sampled per-record spans when asked', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 40, { bad: (line) => line === 7 || line === 33 });
    const run = await runCli(['run', data.path, '--output', path.join(dir, 'out'), '--chunk-size', '20', '--consumers', '1', '--json'], {
      // The streaming path's spans and chunk counts; splits: split-batches.test.ts.
      env: { REDIS_URL: redis.url, ...receiver.env(), TRACE_RECORD_SAMPLE_RATIO: '1', INGEST_SPLITS: 'false' },
    });
    expect(run.code, run.stderr).toBe(0);
    const { id } = JSON.parse(run.stdout) as { id: string };

    const [root, ...others] = receiver.ofService('batchinfer-run').filter((s) => s.name === 'batchinfer run');
    expect(others).toEqual([]);
    expect(root?.parentSpanId).toBeUndefined();
    expect(root?.attributes).toMatchObject({ 'batchinfer.batch.id': id, 'batchinfer.batch.status': 'completed' });
    const consumerSpans = receiver.ofService('batchinfer-consumer');
    expect(consumerSpans.filter((s) => s.name === 'process chunks')).toHaveLength(2);
    expect(receiver.spans.filter((s) => s.traceId !== root?.traceId).map((s) => s.name)).toEqual([]);

    // Ratio 1: every record has its span, predicted or not, with its line and id.
    const records = consumerSpans.filter((s) => s.name === 'batchinfer.record');
    expect(records).toHaveLength(40);
    const errors = records.filter((s) => s.attributes['batchinfer.record.outcome'] === 'error');
    expect(errors.map((s) => s.attributes['batchinfer.record.line']).sort()).toEqual([33, 7]);
    const byId = new Map(consumerSpans.map((s) => [s.spanId, s]));
    for (const span of records) {
      const parent = byId.get(span.parentSpanId ?? '');
      const expectedParent = span.attributes['batchinfer.record.outcome'] === 'error' ? 'data_preparation' : 'model_inference';
      expect(parent?.name).toBe(expectedParent);
    }
  });

  it('is one trace for a split batch queued a window at a time: splits consumers queue hang off the planning span too', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'window.jsonl'), 400);
    const before = new Set(receiver.spans.map((s) => s.spanId));
    const run = await runCli(
      ['run', data.path, '--output', path.join(dir, 'window-out'), '--chunk-size', '20', '--consumers', '1', '--json'],
      {
        env: { REDIS_URL: redis.url, ...receiver.env(), INGEST_WINDOW_SPLITS: '2' },
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const { id, chunks } = JSON.parse(run.stdout) as { id: string; chunks: { total: number } };
    expect(chunks.total).toBeGreaterThan(10);
    const spans = receiver.spans.filter((s) => !before.has(s.spanId));
    const root = spans.find((s) => s.name === 'batchinfer run');
    expect(root?.attributes).toMatchObject({ 'batchinfer.batch.id': id });
    expect(spans.filter((s) => s.traceId !== root?.traceId).map((s) => s.name)).toEqual([]);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const plan = spans.filter((s) => s.name === 'batchinfer.dataset.plan');
    expect(plan).toHaveLength(1);
    const sends = spans.filter((s) => s.name === 'send chunks');
    // The producer queued the first window; the consumer queued the rest, in its own sends.
    expect(sends.filter((s) => s.resource['service.name'] === 'batchinfer-consumer').length).toBeGreaterThan(0);
    for (const send of sends) expect(send.parentSpanId).toBe(plan[0]?.spanId);
    const processed = spans.filter((s) => s.name === 'process chunks');
    expect(processed).toHaveLength(chunks.total);
    for (const span of processed) expect(byId.get(span.parentSpanId ?? '')?.name).toBe('send chunks');
  });

  it('exports with the default protocol (OTLP/HTTP protobuf) when only an endpoint is set', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'proto.jsonl'), 20);
    const before = receiver.protobuf.requests;
    const run = await runCli(['run', data.path, '--output', path.join(dir, 'proto-out'), '--consumers', '1', '--json'], {
      env: { REDIS_URL: redis.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: undefined },
    });
    expect(run.code, run.stderr).toBe(0);
    // One export from the run process and one from its consumer, at least.
    expect(receiver.protobuf.requests - before).toBeGreaterThanOrEqual(2);
    expect(run.stderr).not.toContain('"component":"otel"');
  });

  it('exports over gRPC when OTEL_EXPORTER_OTLP_PROTOCOL=grpc (grpc-js loaded from node_modules by the bundle)', async () => {
    const grpc = await new OtlpGrpcReceiver().start();
    try {
      const data = await writeJsonlDataset(path.join(dir, 'grpc.jsonl'), 20);
      const run = await runCli(['run', data.path, '--output', path.join(dir, 'grpc-out'), '--consumers', '1', '--json'], {
        env: {
          REDIS_URL: redis.url,
          OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
          OTEL_TRACES_EXPORTER: 'otlp',
        },
      });
      expect(run.code, run.stderr).toBe(0);
      // One export from the run process and one from its consumer, at least.
      expect(grpc.requests).toBeGreaterThanOrEqual(2);
      expect(grpc.bytes).toBeGreaterThan(0);
      expect(run.stderr).not.toContain('"component":"otel"');
    } finally {
      await grpc.stop();
    }
  });

  it('samples as OTEL_TRACES_SAMPLER says: always_off exports no span', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'off.jsonl'), 20);
    const before = receiver.spans.length;
    const run = await runCli(['run', data.path, '--output', path.join(dir, 'off-out'), '--consumers', '1', '--json'], {
      env: { REDIS_URL: redis.url, ...receiver.env(), OTEL_TRACES_SAMPLER: 'always_off' },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(receiver.spans.slice(before).map((s) => s.name)).toEqual([]);
  });

  it('with no OTel configuration shows nothing of tracing', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'quiet.jsonl'), 20);
    const run = await runCli(['run', data.path, '--output', path.join(dir, 'quiet-out'), '--consumers', '1', '--json'], {
      // cleanEnv sets OTEL_TRACES_EXPORTER=none for other tests; here nothing is set at all.
      env: { REDIS_URL: redis.url, LOG_LEVEL: 'debug', OTEL_TRACES_EXPORTER: undefined },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('"component":"otel"');
    expect(run.stderr).not.toContain('trace_id');
    expect(run.stderr).toContain('chunk done');
  });
});
