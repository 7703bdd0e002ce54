/**
 * Producer-side faults against real processes and a real HTTP dataset server: the producer
 * dies mid-ingest (another producer resumes, or the batch fails with the reason, never a
 * half-counted `completed`), is stopped while a peer lives (hands the ingest back), and the
 * dataset server cuts the stream or keeps failing.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import { metricKeys } from '../../src/shared/batch/keys.js';
import type { BatchView } from '../../src/shared/types.js';
import { getBatch, submitBatch, waitForBatch, waitForEnd } from '../helpers/batches.js';
import { startDatasetServer } from '../helpers/dataset-server.js';
import type { DatasetServer } from '../helpers/dataset-server.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import type { GeneratedDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import type { PipelineEnv, ServiceEnvFactory } from '../helpers/fixtures.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { waitUntil } from '../helpers/wait-until.js';

let dir: string;
let redis: Redis;
let serviceEnv: ServiceEnvFactory;
let datasets: DatasetServer;
let data: GeneratedDataset;
let text: string;

/** The first read of a dataset stops after ~1200 of its 2000 lines until the test releases it. */
const STALL = { stallAfterBytes: 45_000 };

it.beforeAll(async ({ workDir, redisClient, serviceEnv: envOf }) => {
  dir = workDir;
  redis = redisClient;
  serviceEnv = envOf;
  datasets = await startDatasetServer();
  data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 2000, { bad: (line) => line % 101 === 0 });
  text = await readFile(data.path, 'utf8');
});
it.afterEach(() => {
  datasets.release();
});
it.afterAll(async () => {
  await datasets?.stop();
});

function env(extra: Record<string, string> = {}): PipelineEnv {
  return serviceEnv({
    DATASET_ALLOWED_SCHEMES: 'http',
    // The streaming path: this test relies on an ingest that streams the dataset for a while (splits plan it at once); splits: split-batches.test.ts.
    INGEST_SPLITS: 'false',
    DATASET_ALLOW_PRIVATE_NETWORKS: 'true',
    CHUNK_SIZE: '50',
    INGEST_LEASE_MS: '1500',
    DATASET_RETRIES: '2',
    ...extra,
  });
}

const output = (): string => path.join(dir, 'out');
/** The first ingest is under way (and stalled, so it cannot finish on its own). */
const midIngest = (v: BatchView): boolean => v.status === 'ingesting' && v.chunks.enqueued >= 16;

describe('the producer dies mid-ingest', () => {
  it('SIGKILL: a live producer resumes the ingest and every record is counted once', async ({ services }) => {
    datasets.set('/resume.jsonl', text);
    datasets.fail('/resume.jsonl', STALL);
    const e = env();
    let producer = await services.start('producer', e);
    await services.start('consumer', e);
    const id = await submitBatch(producer.url, { datasetUrl: datasets.url('/resume.jsonl') });
    await waitForBatch(() => producer.url, id, midIngest, 'the ingest to be under way');
    producer.process.kill('SIGKILL');
    await producer.exited;

    // With no producer alive, the consumer runs every chunk that was enqueued, but the
    // batch cannot close: it stays `ingesting`, never a half-counted `completed`.
    const store = new BatchStore(redis, e.QUEUE_PREFIX, 3600);
    await waitUntil(
      async () => {
        const v = await store.get(id);
        return v && v.chunks.completed === v.chunks.enqueued;
      },
      { what: 'the enqueued chunks to be done' },
    );
    await sleep(2000); // longer than the lease
    expect((await store.get(id))?.status).toBe('ingesting');

    producer = await services.start('producer', e);

    const view = await waitForEnd(() => producer.url, id);
    expect(view.status).toBe('completed');
    expect(view.chunks).toMatchObject({ total: 40, enqueued: 40, completed: 40 });
    expectEveryRecordOnce(await readBatchOutput(output(), id), data.expected, data.badLines, { view });
    expect(producer.logs.find((l) => l.msg === 'ingest resumed' && l.batch_id === id)?.attempt).toBe(2);

    // Cost counted once: the chunks done before the resume re-enqueued them are not run (and
    // booked) again. Every attempt's wall time goes both to the batch's cost and to the
    // processing histogram, so one attempt per chunk means 40 observations summing to it.
    const histogram = await redis.hgetall(metricKeys(e.QUEUE_PREFIX).processingHistogram);
    expect(Number(histogram.count), 'attempts booked').toBe(40);
    expect(Number(histogram.sum)).toBeCloseTo(view.cost.wallSeconds, 6);
  });

  it('SIGKILL, and the dataset changed meanwhile: the batch fails instead of mixing two files', async ({ services }) => {
    datasets.set('/changes.jsonl', text);
    datasets.fail('/changes.jsonl', STALL);
    const e = env();
    const first = await services.start('producer', e);
    const id = await submitBatch(first.url, { datasetUrl: datasets.url('/changes.jsonl') });
    await waitForBatch(() => first.url, id, midIngest, 'the ingest to be under way');
    first.process.kill('SIGKILL');
    datasets.set('/changes.jsonl', text.replaceAll('"features"', '"features" '));

    const second = await services.start('producer', e);
    const view = await waitForEnd(() => second.url, id);
    expect(view.status).toBe('failed');
    expect(view.error?.message).toMatch(/^ingest failed: dataset .* is not the version this batch began reading/);
  });

  it('SIGKILL with INGEST_ATTEMPTS spent: the batch fails with the reason', async ({ services }) => {
    datasets.set('/once.jsonl', text);
    datasets.fail('/once.jsonl', STALL);
    const e = env({ INGEST_ATTEMPTS: '1' });
    const first = await services.start('producer', e);
    const id = await submitBatch(first.url, { datasetUrl: datasets.url('/once.jsonl') });
    await waitForBatch(() => first.url, id, midIngest, 'the ingest to be under way');
    first.process.kill('SIGKILL');

    const second = await services.start('producer', e);
    const view = await waitForEnd(() => second.url, id);
    expect(view.status).toBe('failed');
    expect(view.error?.message).toContain('interrupted 1 time(s)');
  });

  it('SIGTERM while a peer is alive: the ingest is handed back and the peer completes it', async ({ services }) => {
    datasets.set('/handback.jsonl', text);
    datasets.fail('/handback.jsonl', STALL);
    const e = env({ DRAIN_TIMEOUT_SECONDS: '1' });
    const leaving = await services.start('producer', e);
    const peer = await services.start('producer', e);
    await services.start('consumer', e);
    const id = await submitBatch(leaving.url, { datasetUrl: datasets.url('/handback.jsonl') });
    await waitForBatch(() => peer.url, id, midIngest, 'the ingest to be under way');
    expect((await leaving.stop('SIGTERM')).code).toBe(0);
    expect(leaving.logs.find((l) => l.msg?.startsWith('ingest handed back') === true)).toBeDefined();

    const view = await waitForEnd(() => peer.url, id);
    expect(view.status).toBe('completed');
    expectEveryRecordOnce(await readBatchOutput(output(), id), data.expected, data.badLines, { view });
  });

  it('SIGTERM with no peer (scaled to zero mid-ingest): handed back, and the next producer to start completes it', async ({ services }) => {
    datasets.set('/alone.jsonl', text);
    datasets.fail('/alone.jsonl', STALL);
    const e = env({ DRAIN_TIMEOUT_SECONDS: '1' });
    const leaving = await services.start('producer', e);
    await services.start('consumer', e);
    const id = await submitBatch(leaving.url, { datasetUrl: datasets.url('/alone.jsonl') });
    await waitForBatch(() => leaving.url, id, midIngest, 'the ingest to be under way');
    expect((await leaving.stop('SIGTERM')).code).toBe(0);
    expect(leaving.logs.find((l) => l.batch_id === id && l.msg?.startsWith('ingest handed back') === true)).toBeDefined();

    // The next request (here a status poll) starts a producer, which resumes the ingest.
    const next = await services.start('producer', e);
    const view = await waitForEnd(() => next.url, id);
    expect(view.status).toBe('completed');
    expectEveryRecordOnce(await readBatchOutput(output(), id), data.expected, data.badLines, { view });
    expect(next.logs.find((l) => l.msg === 'ingest resumed' && l.batch_id === id)?.attempt).toBe(2);
  });

  it('SIGTERM with no peer, and a dataset that cannot be resumed (no version): the batch fails with the reason', async ({ services }) => {
    datasets.set('/alone-unversioned.jsonl', text, { etag: false, ranges: false });
    datasets.fail('/alone-unversioned.jsonl', STALL);
    const e = env({ DRAIN_TIMEOUT_SECONDS: '1' });
    const producer = await services.start('producer', e);
    const id = await submitBatch(producer.url, { datasetUrl: datasets.url('/alone-unversioned.jsonl') });
    await waitForBatch(() => producer.url, id, midIngest, 'the ingest to be under way');
    await producer.stop('SIGTERM');

    const reader = await services.start('producer', e);
    const view = await getBatch(reader.url, id);
    expect(view.status).toBe('failed');
    expect(view.error?.message).toBe('ingest failed: producer shut down during ingest');
  });
});

describe('the dataset server fails', () => {
  it('cuts the stream twice: the ingest resumes with Range and the batch completes exactly', async ({ services }) => {
    datasets.set('/cut.jsonl', text);
    datasets.fail('/cut.jsonl', { cutAfterBytes: 20_000 }, { cutAfterBytes: 30_000 });
    // A lease long enough that a loaded machine cannot let it lapse between the two cuts (a
    // lapsed lease restarts the ingest from byte 0: correct, but not what this test is about).
    const e = env({ INGEST_LEASE_MS: '15000' });
    const producer = await services.start('producer', e);
    await services.start('consumer', e);
    const id = await submitBatch(producer.url, { datasetUrl: datasets.url('/cut.jsonl') });
    const view = await waitForEnd(() => producer.url, id);
    expect(view.status).toBe('completed');
    expectEveryRecordOnce(await readBatchOutput(output(), id), data.expected, data.badLines, { view });
    expect(datasets.requestsFor('/cut.jsonl').map((r) => r.range)).toEqual([undefined, 'bytes=20000-', 'bytes=50000-']);
  });

  it('keeps answering 503: bounded retries, then the batch fails with the reason', async ({ services }) => {
    datasets.set('/down.jsonl', text);
    datasets.fail('/down.jsonl', ...Array.from({ length: 10 }, () => ({ status: 503 })));
    const e = env();
    const producer = await services.start('producer', e);
    const id = await submitBatch(producer.url, { datasetUrl: datasets.url('/down.jsonl') });
    const view = await waitForEnd(() => producer.url, id);
    expect(view.status).toBe('failed');
    expect(view.error?.message).toMatch(/^ingest failed: dataset server answered 503 .* \(gave up after 2 retries\)$/);
    await waitUntil(() => datasets.requestsFor('/down.jsonl').length === 3, { what: 'three requests' });
  });
});
