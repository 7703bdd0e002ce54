/**
 * A split batch is queued a window at a time (`INGEST_WINDOW_SPLITS`): the producer stores
 * the plan, queues the first window and is done; consumers queue the rest as they take
 * splits up. Redis holds a window of splits, never all of them, and the batch needs no
 * producer once planned; failed splits are retried like any chunk. Real producer and
 * consumer processes, real Redis and files.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import { splitWindowKey } from '../../src/shared/batch/split-window.js';
import type { BatchView } from '../../src/shared/types.js';
import { callApi, getBatch, submitBatch, waitForBatch, waitForEnd } from '../helpers/batches.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { waitUntil } from '../helpers/wait-until.js';

const WINDOW = 8;
const CONSUMERS = 2;
const CONCURRENCY = 2;

it('queues a window of splits; with the producer gone, consumers queue the rest and every record arrives once', async ({
  workDir,
  serviceEnv,
  services,
  redisClient,
  probeQueue,
}) => {
  const data = await writeJsonlDataset(path.join(workDir, 'windowed.jsonl'), 12_000, { bad: (line) => line % 499 === 0 });
  const env = serviceEnv({ INGEST_WINDOW_SPLITS: String(WINDOW), CONSUMER_CONCURRENCY: String(CONCURRENCY) });
  const producer = await services.start('producer', env);
  const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(data.path).toString(), chunkSize: 100 });
  const planned = await waitForBatch(
    () => producer.url,
    id,
    (v) => v.status === 'running',
    'planning to finish',
  );
  expect(planned.chunks.total).toBeGreaterThan(100);

  // Planned and done: the plan is stored, only the window is queued.
  const probe = probeQueue(env.QUEUE_PREFIX);
  expect(await probe.queue.getWaitingCount()).toBe(WINDOW);
  expect(await redisClient.hget(splitWindowKey(env.QUEUE_PREFIX, id), 'queued')).toBe(String(WINDOW));
  await producer.stop('SIGKILL');

  // Consumers alone finish the batch, never more than a window (and what they hold) queued.
  for (let i = 0; i < CONSUMERS; i++) await services.start('consumer', env);
  const store = new BatchStore(redisClient, env.QUEUE_PREFIX, 3600);
  let most = 0;
  let view: BatchView | null = null;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    view = await store.get(id);
    if (view?.status === 'completed' || view?.status === 'failed') break;
    const counts = await probe.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    most = Math.max(
      most,
      Object.values(counts).reduce((a, b) => a + b, 0),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(view?.status).toBe('completed');
  // Queued past the window: at most the chunks in hand, whose top-ups reach past the lowest one's.
  expect(most).toBeLessThanOrEqual(WINDOW + CONSUMERS * CONCURRENCY);
  expect(most).toBeGreaterThan(0);
  expect(await redisClient.hget(splitWindowKey(env.QUEUE_PREFIX, id), 'queued')).toBe(String(planned.chunks.total));
  const out = await readBatchOutput(path.join(workDir, 'out'), id);
  expectEveryRecordOnce(out, data.expected, data.badLines, { view: view as BatchView });
});

it('retries the failed splits of a windowed batch: POST /retry re-runs them and the batch completes, every record once', async ({
  workDir,
  serviceEnv,
  services,
}) => {
  // Three records carry the value the drill model fails on: their splits fail for good.
  const poisoned = new Set([150, 2_222, 5_900]);
  const data = await writeJsonlDataset(path.join(workDir, 'retry.jsonl'), 6_000, {
    bad: (line) => line % 701 === 0,
    features: (line) => (poisoned.has(line) ? [999, 1] : [line % 10, 2]),
  });
  const model = path.join(workDir, 'flaky.json');
  await writeFile(model, JSON.stringify({ failWhenFeature: 999, message: 'model server returned 503' }));
  const env = serviceEnv({ INGEST_WINDOW_SPLITS: String(WINDOW), MODEL_ROOT: workDir, CHUNK_ATTEMPTS: '2', CHUNK_BACKOFF_MS: '50' });
  const producer = await services.start('producer', env);
  await services.start('consumer', env);
  const id = await submitBatch(producer.url, {
    datasetUrl: pathToFileURL(data.path).toString(),
    chunkSize: 100,
    model: 'drill:flaky.json',
  });
  const failed = await waitForEnd(() => producer.url, id);
  expect(failed.status).toBe('failed');
  expect(failed.chunks.total).toBeGreaterThan(WINDOW * 4);
  expect(failed.failedChunks).toHaveLength(poisoned.size);

  await writeFile(model, JSON.stringify({}));
  const retry = await callApi<{ retried: number[] }>(`${producer.url}/v1/batches/${id}/retry`, 'POST');
  expect(retry.status).toBe(202);
  expect(retry.json.retried).toEqual(failed.failedChunks);
  const done = await waitForEnd(() => producer.url, id);
  expect(done.status).toBe('completed');
  const out = await readBatchOutput(path.join(workDir, 'out'), id);
  expectEveryRecordOnce(out, data.expected, data.badLines, { view: done });
});

it('stops queueing when its batch is cancelled: no split is queued or written after the cancel', async ({
  workDir,
  serviceEnv,
  services,
  redisClient,
  probeQueue,
}) => {
  const data = await writeJsonlDataset(path.join(workDir, 'cancel.jsonl'), 8_000);
  const env = serviceEnv({ INGEST_WINDOW_SPLITS: String(WINDOW) });
  const producer = await services.start('producer', env);
  await services.start('consumer', env);
  // 40 ms a split: the batch is well under way, far from done, when it is cancelled.
  const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(data.path).toString(), chunkSize: 50, model: 'sleep:40' });
  const started = await waitForBatch(
    () => producer.url,
    id,
    (v) => v.chunks.completed >= 10,
    'ten splits to be done',
  );
  expect(started.chunks.total).toBeGreaterThan(100);
  const cancel = await callApi<{ status: string }>(`${producer.url}/v1/batches/${id}`, 'DELETE');
  expect(cancel.json.status).toBe('cancelled');
  const key = splitWindowKey(env.QUEUE_PREFIX, id);
  const queuedAtCancel = Number(await redisClient.hget(key, 'queued'));
  // What was in hand finishes or is dropped; the queue empties and the cursor stays put.
  const probe = probeQueue(env.QUEUE_PREFIX);
  await waitUntil(async () => (await probe.queue.getJobCounts('active')).active === 0, {
    what: 'the consumer to let go of the cancelled splits',
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(Number(await redisClient.hget(key, 'queued'))).toBeLessThanOrEqual(queuedAtCancel + CONSUMERS * CONCURRENCY);
  expect(Number(await redisClient.hget(key, 'queued'))).toBeLessThan(started.chunks.total as number);
  const out = await readBatchOutput(path.join(workDir, 'out'), id);
  expect(out.predictions.length).toBeLessThan(data.records);
  expect((await getBatch(producer.url, id)).status).toBe('cancelled');
});
