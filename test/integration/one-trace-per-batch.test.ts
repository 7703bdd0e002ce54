/**
 * One trace per batch, end to end, through separate `batchinfer producer` and two
 * `batchinfer consumer` processes exporting to a real OTLP/HTTP receiver, with a real K_SINK:
 * - every producer and consumer span of the batch has the trace id of the submitting
 *   request's `traceparent`, and the consumers' chunk spans descend from the producer's;
 * - the consumers' log lines for the batch carry that trace id;
 * - SIGTERM makes every process exit 0 having exported all its spans (the batch span
 *   processor is set to wait 10 minutes, so every span seen was flushed by the shutdown);
 * - K_SINK gets exactly one `batch.completed` event, carrying the trace, after a retry.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import type { BatchView } from '../../src/shared/types.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { EventSink } from '../helpers/event-sink.js';
import { it } from '../helpers/fixtures.js';
import { ancestors, OtlpReceiver, SPAN_KIND } from '../helpers/otlp-receiver.js';
import type { ReceivedSpan } from '../helpers/otlp-receiver.js';
import { waitUntil } from '../helpers/wait-until.js';

let receiver: OtlpReceiver;
let sink: EventSink;

it.beforeAll(async () => {
  [receiver, sink] = await Promise.all([new OtlpReceiver().start(), new EventSink([503, 202]).start()]);
});
it.afterAll(async () => {
  await Promise.all([receiver?.stop(), sink?.stop()]);
});

const CHILD_STEPS = ['model_loading', 'data_preparation', 'model_inference', 'batchinfer.output.write', 'batchinfer.batch.account'];

describe('a batch submitted with a traceparent', () => {
  it('is one trace across producer, queue, consumers and the completion event', async ({ workDir: dir, serviceEnv, services }) => {
    const data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 1000, { bad: (line) => line % 97 === 0 });
    const traceId = randomBytes(16).toString('hex');
    const parentSpanId = randomBytes(8).toString('hex');
    const env = serviceEnv({
      // The streaming path: this test relies on the streaming path's spans (dataset.open, dataset.read) and chunks of exactly CHUNK_SIZE lines; splits: split-batches.test.ts.
      INGEST_SPLITS: 'false',
      CHUNK_SIZE: '250',
      LOG_LEVEL: 'debug',
      K_SINK: sink.url,
      K_CE_OVERRIDES: '{"extensions":{"team":"risk","type":"not-allowed"}}',
      ...receiver.env(),
      // Nothing is exported on a timer during the test: every span must come from the flush on SIGTERM.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    const consumerEnv = { ...env, K_SERVICE: 'batchinfer-consumer', K_REVISION: 'batchinfer-consumer-00001' };
    const producer = await services.start('producer', env);
    const consumers = await Promise.all([services.start('consumer', consumerEnv), services.start('consumer', consumerEnv)]);
    const processes = [producer, ...consumers];

    const submit = await fetch(`${producer.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parentSpanId}-01` },
      body: JSON.stringify({ datasetUrl: pathToFileURL(data.path).toString(), labels: { team: 'risk' } }),
    });
    expect(submit.status).toBe(202);
    const { id } = (await submit.json()) as { id: string };

    await waitUntil(() => sink.accepted().length > 0, { what: 'batch.completed at K_SINK', timeoutMs: 60_000 });
    const view = (await (await fetch(`${producer.url}/v1/batches/${id}`)).json()) as BatchView;
    expect(view.status).toBe('completed');
    expect(view.traceId).toBe(traceId);
    expect(receiver.spans, 'spans exported before shutdown').toHaveLength(0);

    // 2. SIGTERM: every process drains, flushes and exits 0.
    const exits = await Promise.all(processes.map((s) => s.stop('SIGTERM')));
    expect(exits).toEqual(processes.map(() => ({ code: 0, signal: null })));

    // 1. One trace: every span of the batch, producer's and consumers', has the request's trace id.
    const producerSpans = receiver.ofService('batchinfer-producer').filter((s) => s.name !== 'GET /v1/batches/:id');
    const consumerSpans = receiver.ofService('batchinfer-consumer');
    const all = [...producerSpans, ...consumerSpans];
    expect(all.filter((s) => s.traceId !== traceId).map((s) => s.name)).toEqual([]);

    const one = (name: string, spans: ReceivedSpan[] = producerSpans): ReceivedSpan => {
      const found = spans.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0] as ReceivedSpan;
    };
    const server = one('POST /v1/batches');
    expect(server.kind).toBe(SPAN_KIND.server);
    expect(server.parentSpanId).toBe(parentSpanId);
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 202, 'batchinfer.batch.id': id });
    const ingest = one('batchinfer.ingest');
    expect(ingest.parentSpanId).toBe(server.spanId);
    expect(one('batchinfer.dataset.open').parentSpanId).toBe(ingest.spanId);
    const read = one('batchinfer.dataset.read');
    const send = one('send chunks');
    expect(send.kind).toBe(SPAN_KIND.producer);
    expect(send.parentSpanId).toBe(read.spanId);
    expect(send.attributes).toMatchObject({
      'messaging.destination.name': 'chunks',
      'messaging.batch.message_count': 4,
      'batchinfer.batch.id': id,
    });

    // Consumer chunk spans: one per chunk (none lost), each continuing the producer's send span.
    const chunkSpans = consumerSpans.filter((s) => s.name === 'process chunks');
    expect(chunkSpans.map((s) => s.attributes['batchinfer.chunk.index']).sort()).toEqual([0, 1, 2, 3]);
    for (const span of chunkSpans) {
      const index = span.attributes['batchinfer.chunk.index'];
      expect(span.kind).toBe(SPAN_KIND.consumer);
      expect(span.parentSpanId).toBe(send.spanId);
      expect(ancestors(span, all).map((s) => s.name)).toEqual([
        'send chunks',
        'batchinfer.dataset.read',
        'batchinfer.ingest',
        'POST /v1/batches',
      ]);
      expect(span.attributes).toMatchObject({
        'messaging.system': 'bullmq',
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'chunks',
        'messaging.message.id': `${id}-${String(index)}`,
        'batchinfer.batch.id': id,
        'batchinfer.chunk.records': 250,
        'batchinfer.chunk.attempt': 1,
        'batchinfer.chunk.outcome': 'done',
      });
      expect(span.attributes['batchinfer.queue.wait_ms']).toBeGreaterThanOrEqual(0);
      expect(span.resource).toMatchObject({
        'service.name': 'batchinfer-consumer',
        'faas.name': 'batchinfer-consumer',
        'faas.version': 'batchinfer-consumer-00001',
      });
      const steps = consumerSpans.filter((s) => s.parentSpanId === span.spanId).map((s) => s.name);
      expect(steps.sort()).toEqual([...CHILD_STEPS].sort());
    }
    // Per-record spans are opt-in.
    expect(all.filter((s) => s.name === 'batchinfer.record')).toEqual([]);

    // 3. Exactly one batch.completed at K_SINK, after one 503, carrying the trace.
    expect(sink.requests.map((r) => r.status)).toEqual([503, 202]);
    const [event] = sink.accepted();
    expect(event?.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-type': 'dev.batchinfer.batch.completed.v1',
      'ce-id': id,
      'ce-subject': id,
      'ce-team': 'risk',
      'content-type': 'application/json',
    });
    expect(event?.headers['ce-traceparent']).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(event?.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-`));
    expect(JSON.parse(event?.body ?? '{}')).toMatchObject({
      batchId: id,
      status: 'completed',
      records: { total: data.records, succeeded: data.expected.size, failed: data.badLines.length },
      chunks: { total: 4, completed: 4, failed: 0 },
      labels: { team: 'risk' },
      traceId,
    });
    const delivery = one('send dev.batchinfer.batch.completed.v1', consumerSpans);
    expect(delivery.attributes['http.request.resend_count']).toBe(1);
    expect(ancestors(delivery, all).map((s) => s.name)).toContain('batchinfer.batch.close');

    // Logs: every consumer line about the batch carries the trace (and its span).
    const batchLines = consumers.flatMap((c) => c.logs.lines.filter((l) => l.batch_id === id));
    expect(batchLines.length).toBeGreaterThanOrEqual(4);
    for (const line of batchLines) {
      expect(line).toMatchObject({ trace_id: traceId, service: 'consumer' });
      expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(batchLines.filter((l) => l.msg === 'chunk done').map((l) => l.chunk_index)).toHaveLength(4);
    const producerLines = producer.logs.lines.filter((l) => l.batch_id === id);
    expect(producerLines.length).toBeGreaterThan(0);
    for (const line of producerLines) expect(line.trace_id).toBe(traceId);
  });
});
