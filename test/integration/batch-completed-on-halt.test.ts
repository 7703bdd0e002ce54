/**
 * `batch.completed` for batches that end without closing, at a real K_SINK receiver: a
 * scheduled run whose ingest fails (so a failed nightly run is not silent there), and a
 * cancelled batch. One event per batch, from the producer that halted it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchCompletedData } from '../../src/shared/events/completion-event.js';
import { COMPLETION_EVENT_TYPE } from '../../src/shared/events/completion-event.js';
import { submitBatch, waitForBatch } from '../helpers/batches.js';
import { startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { EventSink } from '../helpers/event-sink.js';
import type { ReceivedRequest } from '../helpers/event-sink.js';
import { freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

let dir: string;
let redis: LocalRedis;
let sink: EventSink;
let producer: RunningService;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-halt-event-'));
  redis = await startTestRedis();
  sink = await new EventSink([202]).start();
  // No consumer: chunks stay queued, so a batch can be cancelled while it runs.
  producer = await startService('producer', {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: freshPrefix('halt-event'),
    OUTPUT_URL: pathToFileURL(path.join(dir, 'out')).toString(),
    DATASET_ALLOWED_SCHEMES: 'file',
    K_SINK: sink.url,
    K_CE_OVERRIDES: '{"extensions":{"cluster":"test"}}',
  });
});
afterAll(async () => {
  await producer?.stop();
  await sink?.stop();
  await redis?.stop();
});

const eventsOf = (id: string): ReceivedRequest[] => sink.requests.filter((r) => r.headers['ce-id'] === id);
const cancel = async (id: string): Promise<number> => (await fetch(`${producer.url}/v1/batches/${id}`, { method: 'DELETE' })).status;

async function eventOf(id: string): Promise<{ headers: ReceivedRequest['headers']; data: BatchCompletedData }> {
  const [event] = await waitUntil(() => ((events) => (events.length > 0 ? events : undefined))(eventsOf(id)), {
    what: `batch.completed of ${id}`,
  });
  if (!event) throw new Error('unreachable');
  return { headers: event.headers, data: JSON.parse(event.body) as BatchCompletedData };
}

describe('batch.completed for a batch that ends without closing', () => {
  it('is sent, status failed with the error code, when a scheduled run fails in ingest', async () => {
    // A PingSource tick, as Knative's ping adapter sends it, for a partition that is not there.
    const res = await fetch(`${producer.url}/`, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-type': 'dev.knative.sources.ping',
        'ce-source': '/apis/v1/namespaces/ml-batch/pingsources/nightly-scoring',
        'ce-id': randomUUID(),
        'ce-time': '2026-11-23T02:00:00.317Z',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ datasetUrl: pathToFileURL(path.join(dir, 'missing-partition.jsonl')).toString() }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    const { headers, data } = await eventOf(id);
    expect(headers).toMatchObject({ 'ce-type': COMPLETION_EVENT_TYPE, 'ce-subject': id, 'ce-cluster': 'test' });
    expect(data).toMatchObject({
      batchId: id,
      status: 'failed',
      errorCode: 'DATASET_NOT_FOUND',
      records: { total: 0, succeeded: 0, failed: 0 },
      chunks: { total: null, completed: 0, failed: 0 },
      output: { parts: 0 },
    });
    expect(data.error).toMatch(/^ingest failed: /);
    // No manifest was written, so none is pointed at.
    expect(data.output.manifest).toBeUndefined();
    expect(data.output.url).toContain(id);

    // It has ended: a cancellation is refused and announces nothing more.
    expect(await cancel(id)).toBe(409);
    expect(eventsOf(id)).toHaveLength(1);
  });

  it('is sent, status cancelled with the counts so far, when a batch is cancelled', async () => {
    const dataset = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 30);
    const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(dataset.path).toString(), chunkSize: 10 });
    await waitForBatch(
      () => producer.url,
      id,
      (v) => v.status === 'running',
      'ingest to finish',
    );
    expect(await cancel(id)).toBe(200);

    const { data } = await eventOf(id);
    expect(data).toMatchObject({
      batchId: id,
      status: 'cancelled',
      error: 'cancelled by request',
      records: { total: 0, succeeded: 0, failed: 0 },
      chunks: { total: 3, completed: 0, failed: 0 },
    });
    expect(data.output.manifest).toBeUndefined();
    expect(await cancel(id)).toBe(409);
    expect(eventsOf(id)).toHaveLength(1);
  });
});
