/**
 * A dataset that cannot be read in ranges (gzip) is streamed through Redis, but only a
 * window of its chunks at a time (`INGEST_WINDOW_CHUNKS`): with no consumer, ingest waits
 * at the window; consumers drain it and every record arrives once. A chunk's event carries its
 * records, not its batch's fields.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBatch, submitBatch, waitForBatch, waitForEnd } from '../helpers/batches.js';
import { startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { connect, freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

let dir: string;
let redis: LocalRedis;
const services: RunningService[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-window-'));
  redis = await startTestRedis();
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await redis?.stop();
});

describe('streamed datasets', () => {
  it('keep at most INGEST_WINDOW_CHUNKS chunks in Redis, and complete once consumers drain them', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 3000, { bad: (line) => line % 401 === 0 });
    const gz = path.join(dir, 'd.jsonl.gz');
    await writeFile(gz, gzipSync(await readFile(data.path)));
    const output = path.join(dir, 'out');
    const prefix = freshPrefix('window');
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      OUTPUT_URL: pathToFileURL(output).toString(),
      DATASET_ALLOWED_SCHEMES: 'file',
      INGEST_WINDOW_CHUNKS: '5',
    };
    const producer = await startService('producer', env);
    services.push(producer);
    const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(gz).toString(), chunkSize: 100 });
    await waitForBatch(
      () => producer.url,
      id,
      (v) => v.chunks.enqueued >= 5,
      'the window to fill',
    );
    // Ingest waits at the window: a while later it has queued no more.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const held = await getBatch(producer.url, id);
    expect(held.status).toBe('ingesting');
    expect(held.chunks.enqueued).toBe(5);
    const client = connect(redis.url);
    const jobs = (await client.keys(`${prefix}:chunks:*`)).filter((k) => /:chunks:[^:]+-\d+$/.test(k));
    expect(jobs.length).toBeLessThanOrEqual(5);
    // Each carries its records as the contract has it, not the batch's fields (read from the batch's hash).
    const queued = JSON.parse((await client.hget(jobs[0] as string, 'data')) ?? '{}') as { data: Record<string, unknown> };
    expect(Object.keys(queued.data).sort()).toEqual(['batchId', 'chunkIndex', 'firstLine', 'records']);
    await client.quit();

    services.push(await startService('consumer', env));
    const done = await waitForEnd(() => producer.url, id);
    expect(done.status).toBe('completed');
    expect(done.chunks.total).toBe(30);
    expectEveryRecordOnce(await readBatchOutput(output, id), data.expected, data.badLines, { view: done });
  });
});
