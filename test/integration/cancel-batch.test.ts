/**
 * `DELETE /v1/batches/:id` against real processes: a running batch stops (status
 * `cancelled`, its waiting chunks removed from the queue, consumers skip the rest); an
 * ingesting batch's ingest stops too, even when another producer is ingesting it; a finished
 * batch cannot be cancelled.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import { callApi, getBatch, submitBatch, waitForBatch, waitForEnd } from '../helpers/batches.js';
import { startDatasetServer } from '../helpers/dataset-server.js';
import type { DatasetServer } from '../helpers/dataset-server.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import type { GeneratedDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import type { PipelineEnv, ServiceEnvFactory } from '../helpers/fixtures.js';
import { waitUntil } from '../helpers/wait-until.js';

let dir: string;
let serviceEnv: ServiceEnvFactory;
let datasets: DatasetServer;
let data: GeneratedDataset;

it.beforeAll(async ({ workDir, serviceEnv: envOf }) => {
  dir = workDir;
  serviceEnv = envOf;
  datasets = await startDatasetServer();
  data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 1000);
  await writeFile(path.join(dir, 'slow.json'), JSON.stringify({ delayMs: 300 }));
  await writeFile(path.join(dir, 'slower.json'), JSON.stringify({ delayMs: 1500 }));
});
it.afterEach(() => {
  datasets.release();
});
it.afterAll(async () => {
  await datasets?.stop();
});

function env(): PipelineEnv {
  return serviceEnv({
    DATASET_ALLOWED_SCHEMES: 'file,http',
    DATASET_ALLOW_PRIVATE_NETWORKS: 'true',
    // The streaming path: cancelling an ingest under way needs one that takes a while (splits plan at once).
    INGEST_SPLITS: 'false',
    MODEL_ROOT: dir,
    CHUNK_SIZE: '50',
    CONSUMER_CONCURRENCY: '1',
    INGEST_LEASE_MS: '1500',
  });
}

describe('cancelling a batch', () => {
  it('stops a running batch: waiting chunks leave the queue, consumers take no more of them', async ({ services, probeQueue }) => {
    const e = env();
    const probe = probeQueue(e.QUEUE_PREFIX);
    const producer = await services.start('producer', e);
    await services.start('consumer', e);
    const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(data.path).toString(), model: 'drill:slow.json' });
    await waitForBatch(
      () => producer.url,
      id,
      (v) => v.status === 'running' && v.chunks.completed >= 2,
      'two chunks to be done',
    );

    const cancel = await callApi<{ status: string; removedChunks: number }>(`${producer.url}/v1/batches/${id}`, 'DELETE');
    expect(cancel.status).toBe(200);
    expect(cancel.json.status).toBe('cancelled');
    expect(cancel.json.removedChunks).toBeGreaterThan(10);
    expect(await probe.queue.getWaitingCount()).toBe(0);

    const atCancel = await getBatch(producer.url, id);
    expect(atCancel.status).toBe('cancelled');
    expect(atCancel.error).toEqual({ code: 'BATCH_CANCELLED', message: 'cancelled by request' });
    // At most the chunk in hand when the batch was cancelled still finishes.
    await sleep(1000);
    const later = await getBatch(producer.url, id);
    expect(later.status).toBe('cancelled');
    expect(later.chunks.completed).toBeLessThanOrEqual(atCancel.chunks.completed + 1);
    expect(await readdir(path.join(dir, 'out', id))).not.toContain('manifest.json');

    const again = await callApi(`${producer.url}/v1/batches/${id}`, 'DELETE');
    expect(again.status).toBe(409);
    expect(again.json.error?.code).toBe('BATCH_FINISHED');
    expect((await callApi(`${producer.url}/v1/batches/no-such-batch`, 'DELETE')).status).toBe(404);
  });

  it('a chunk in hand when the batch is cancelled writes no part and counts no records', async ({ services }) => {
    const e = env();
    const producer = await services.start('producer', e);
    const consumer = await services.start('consumer', e);
    const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(data.path).toString(), model: 'drill:slower.json' });
    // One chunk done: the consumer (concurrency 1) is now 1.5 s into the next one.
    await waitForBatch(
      () => producer.url,
      id,
      (v) => v.chunks.completed >= 1,
      'a chunk to be done',
    );
    const cancelledAt = Date.now();
    expect((await callApi(`${producer.url}/v1/batches/${id}`, 'DELETE')).status).toBe(200);
    const atCancel = await getBatch(producer.url, id);
    // Longer than the chunk in hand takes to finish.
    await sleep(2500);

    const folder = path.join(dir, 'out', id);
    const names = (await readdir(folder)).filter((n) => !n.startsWith('.'));
    const late = [];
    for (const name of names) if ((await stat(path.join(folder, name))).mtimeMs > cancelledAt) late.push(name);
    expect(late, 'files written after the cancel').toEqual([]);
    const later = await getBatch(producer.url, id);
    expect(later.records.succeeded).toBe(atCancel.records.succeeded);
    expect(later.output.parts).toBe(names.filter((n) => n.startsWith('part-')).length);
    expect(consumer.logs.find((l) => l.batch_id === id && l.msg?.includes('batch was cancelled') === true)).toBeDefined();
  });

  it('stops an ingest running in another producer (it notices through its lease)', async ({ services }) => {
    // The dataset server stops sending half-way, so the ingest is still going when cancelled.
    datasets.set('/slow.jsonl', Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: i, features: [i] })).join('\n') + '\n');
    datasets.fail('/slow.jsonl', { stallAfterBytes: 20_000 });
    const e = env();
    const ingesting = await services.start('producer', e);
    const other = await services.start('producer', e);
    const id = await submitBatch(ingesting.url, { datasetUrl: datasets.url('/slow.jsonl'), chunkSize: 10 });
    await waitForBatch(
      () => other.url,
      id,
      (v) => v.records.read > 0,
      'the ingest to be under way',
    );

    const cancel = await callApi(`${other.url}/v1/batches/${id}`, 'DELETE');
    expect(cancel.status).toBe(200);
    await waitUntil(() => ingesting.logs.find((l) => l.batch_id === id && l.msg?.startsWith('ingest stopped') === true), {
      what: 'the ingesting producer to stop',
      timeoutMs: 10_000,
    });
    const view = await waitForEnd(() => other.url, id);
    expect(view.status).toBe('cancelled');
    const read = view.records.read;
    await sleep(500);
    expect((await getBatch(other.url, id)).records.read, 'nothing more is read').toBe(read);
    expect(read).toBeLessThan(2000);
  });
});
