/**
 * Redis restarted mid-batch (append-only persistence on, as in production), while the
 * producer is still ingesting and consumers are working: every process reconnects by itself
 * and the batch completes with exact counts, every record once.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitBatch, waitForBatch, waitForEnd } from '../helpers/batches.js';
import { startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { startDatasetServer } from '../helpers/dataset-server.js';
import type { DatasetServer } from '../helpers/dataset-server.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

let dir: string;
let redis: LocalRedis;
let datasets: DatasetServer;
const services: RunningService[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-redis-restart-'));
  redis = await startTestRedis({ persistence: true });
  datasets = await startDatasetServer();
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await datasets?.stop();
  await redis?.stop();
});

describe('Redis restarted mid-batch', () => {
  it('producer and consumers reconnect and the batch completes with exact counts', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 3000, { bad: (line) => line % 211 === 0 });
    // The server stops sending half-way until released: the restart lands mid-ingest.
    datasets.set('/d.jsonl', await readFile(data.path));
    datasets.fail('/d.jsonl', { stallAfterBytes: 60_000 });
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ delayMs: 100 }));
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: freshPrefix('restart'),
      OUTPUT_URL: pathToFileURL(path.join(dir, 'out')).toString(),
      DATASET_ALLOWED_SCHEMES: 'http',
      // The streaming path: this test relies on an ingest still under way when Redis restarts (splits plan it at once); splits: split-batches.test.ts.
      INGEST_SPLITS: 'false',
      DATASET_ALLOW_PRIVATE_NETWORKS: 'true',
      MODEL_ROOT: dir,
      CHUNK_SIZE: '50',
      CHUNK_LOCK_DURATION_MS: '3000',
      CHUNK_STALLED_INTERVAL_MS: '1000',
    };
    const producer = await startService('producer', env);
    services.push(producer, await startService('consumer', env), await startService('consumer', env));
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
    for (const s of services) expect(s.process.exitCode, 'no process died').toBeNull();
    // The ingest survived the restart: it was read once, not resumed from the start.
    expect(datasets.requestsFor('/d.jsonl')).toHaveLength(1);
  });
});
