/**
 * Redis restarted mid-batch (append-only persistence on, as in production), while the
 * producer is still ingesting and consumers are working: every process reconnects by itself
 * and the batch completes with exact counts, every record once.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { submitBatch, waitForBatch, waitForEnd } from '../helpers/batches.js';
import { startDatasetServer } from '../helpers/dataset-server.js';
import type { DatasetServer } from '../helpers/dataset-server.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';

let datasets: DatasetServer;

// Append-only persistence, as in production: the restart must keep the queue.
it.override('redisOptions', { persistence: true });
it.beforeAll(async () => {
  datasets = await startDatasetServer();
});
it.afterAll(async () => {
  await datasets?.stop();
});

describe('Redis restarted mid-batch', () => {
  it('producer and consumers reconnect and the batch completes with exact counts', async ({
    workDir: dir,
    redis,
    serviceEnv,
    services,
  }) => {
    const data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 3000, { bad: (line) => line % 211 === 0 });
    // The server stops sending half-way until released: the restart lands mid-ingest.
    datasets.set('/d.jsonl', await readFile(data.path));
    datasets.fail('/d.jsonl', { stallAfterBytes: 60_000 });
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ delayMs: 100 }));
    const env = serviceEnv({
      DATASET_ALLOWED_SCHEMES: 'http',
      // The streaming path: this test relies on an ingest still under way when Redis restarts (splits plan it at once); splits: split-batches.test.ts.
      INGEST_SPLITS: 'false',
      DATASET_ALLOW_PRIVATE_NETWORKS: 'true',
      MODEL_ROOT: dir,
      CHUNK_SIZE: '50',
      CHUNK_LOCK_DURATION_MS: '3000',
      CHUNK_STALLED_INTERVAL_MS: '1000',
    });
    const producer = await services.start('producer', env);
    const consumers = await Promise.all([services.start('consumer', env), services.start('consumer', env)]);
    const id = await submitBatch(producer.url, { datasetUrl: datasets.url('/d.jsonl'), model: 'drill:model.json' });
    await waitForBatch(
      () => producer.url,
      id,
      (v) => v.status === 'ingesting' && v.chunks.enqueued >= 16 && v.chunks.completed >= 2,
      'the batch to be half-way',
    );

    await redis.restart();
    datasets.release();

    const view = await waitForEnd(() => producer.url, id);
    expect(view.status).toBe('completed');
    expect(view.chunks).toMatchObject({ total: 60, enqueued: 60, completed: 60, failed: 0 });
    expectEveryRecordOnce(await readBatchOutput(path.join(dir, 'out'), id), data.expected, data.badLines, { view });
    for (const s of [producer, ...consumers]) expect(s.process.exitCode, 'no process died').toBeNull();
    // The ingest survived the restart: it was read once, not resumed from the start.
    expect(datasets.requestsFor('/d.jsonl')).toHaveLength(1);
  });
});
