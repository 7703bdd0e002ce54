/**
 * Producer and consumer services with `OUTPUT_URL=s3://…`, configured by the AWS SDK's own
 * variables, against a real S3-compatible server (s3rver) behind a proxy that can cut a
 * download and replace the object meanwhile. What users meet: outputs under
 * `<prefix>/<batchId>/`, status `output.url` naming that folder, the refusals at submit with
 * their codes, failed batches with theirs, and no secret key in any log line.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, submitBatch, waitForEnd } from '../helpers/batches.js';
import { startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { expectEveryRecordOnce } from '../helpers/output.js';
import { freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';
import { S3FaultProxy } from '../helpers/s3-fault-proxy.js';
import { readS3BatchOutput, startS3rver, TEST_SECRET_KEY } from '../helpers/s3-server.js';
import type { TestS3 } from '../helpers/s3-server.js';

let s3: TestS3;
let proxy: S3FaultProxy;
let redis: LocalRedis;
/** Writes to s3://results/batches. */
let producer: RunningService;
let consumer: RunningService;
/** OUTPUT_URL names a bucket that does not exist. */
let typoProducer: RunningService;
/** An access key id the store does not know. */
let wrongKeyProducer: RunningService;
const services = (): RunningService[] => [producer, consumer, typoProducer, wrongKeyProducer];

beforeAll(async () => {
  s3 = await startS3rver();
  await s3.createBucket('lake');
  await s3.createBucket('results');
  proxy = await new S3FaultProxy(s3.endpoint).start();
  redis = await startTestRedis();
  const prefix = freshPrefix('s3');
  const env = s3.env({
    AWS_ENDPOINT_URL_S3: proxy.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    OUTPUT_URL: 's3://results/batches',
    CHUNK_SIZE: '100',
    LOG_LEVEL: 'debug',
  });
  [producer, consumer, typoProducer, wrongKeyProducer] = await Promise.all([
    startService('producer', env),
    startService('consumer', env),
    startService('producer', { ...env, QUEUE_PREFIX: freshPrefix('s3-typo'), OUTPUT_URL: 's3://reslts/batches' }),
    startService('producer', { ...env, QUEUE_PREFIX: freshPrefix('s3-key'), AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY000001' }),
  ]);
});

afterAll(async () => {
  await Promise.all(services().map((s) => s?.stop()));
  await proxy?.stop();
  await redis?.stop();
  await s3?.stop();
});

/** A PingSource tick, as Knative's ping adapter sends it. */
async function tick(producerUrl: string, data: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${producerUrl}/`, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-type': 'dev.knative.sources.ping',
      'ce-source': '/apis/v1/namespaces/ml/pingsources/nightly',
      'ce-id': randomUUID(),
      'content-type': 'application/json',
    },
    body: JSON.stringify(data),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('services with OUTPUT_URL=s3://results/batches', () => {
  it('score a single object into s3://results/batches/<batchId>/, the folder status names', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-s3-svc-'));
    const data = await writeJsonlDataset(path.join(dir, 'in.jsonl'), 450, { bad: (line) => line % 50 === 0 });
    await s3.put('lake', 'events/dt=2026-12-01/part-0.jsonl', await readFile(data.path));
    const id = await submitBatch(producer.url, { datasetUrl: 's3://lake/events/dt=2026-12-01/part-0.jsonl', labels: { team: 'risk' } });
    const view = await waitForEnd(() => producer.url, id);
    expect(view).toMatchObject({ status: 'completed', output: { url: `s3://results/batches/${id}`, parts: 5 } });
    const output = await readS3BatchOutput(s3, 'results', 'batches', id);
    expectEveryRecordOnce(output, data.expected, data.badLines, { view });
    expect(output.manifest).toMatchObject({ batchId: id, output: `s3://results/batches/${id}`, labels: { team: 'risk' } });
  });

  it('score a prefix of several objects as one batch: splits across all, error lines name their object and line, the manifest lists the inputs', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-s3-prefix-'));
    const parts = [
      await writeJsonlDataset(path.join(dir, 'a.jsonl'), 320, { bad: (line) => line === 7 }),
      await writeJsonlDataset(path.join(dir, 'b.jsonl'), 250, { bad: (line) => line === 1 || line === 250 }),
      await writeJsonlDataset(path.join(dir, 'c.jsonl'), 90),
    ];
    const keys = ['part-0.jsonl', 'part-1.jsonl', 'sub/part-2.jsonl'];
    for (const [i, data] of parts.entries()) await s3.put('lake', `multi/dt=2026-12-02/${keys[i]}`, await readFile(data.path));
    const id = await submitBatch(producer.url, { datasetUrl: 's3://lake/multi/dt=2026-12-02/' });
    const view = await waitForEnd(() => producer.url, id);
    expect(view.status).toBe('completed');
    // About CHUNK_SIZE (100) records per split, in every object.
    expect(view.chunks.total).toBeGreaterThanOrEqual(7);
    const output = await readS3BatchOutput(s3, 'results', 'batches', id);
    const expected = new Map(parts.flatMap((p, i) => [...p.expected].map(([rid, v]) => [`${i}:${rid}`, v] as const)));
    const predicted = output.predictions.length;
    expect(predicted).toBe(expected.size);
    const errors = (output.errors as { file?: string; line: number }[]).map((e) => [e.file, e.line]);
    expect(errors.sort()).toEqual([
      ['s3://lake/multi/dt=2026-12-02/part-0.jsonl', 7],
      ['s3://lake/multi/dt=2026-12-02/part-1.jsonl', 1],
      ['s3://lake/multi/dt=2026-12-02/part-1.jsonl', 250],
    ]);
    expect(view.records).toMatchObject({ total: 660, succeeded: expected.size, failed: 3 });
    const inputs = output.manifest?.inputs;
    expect(inputs?.map((o) => o.url)).toEqual(keys.map((k) => `s3://lake/multi/dt=2026-12-02/${k}`));
    for (const [i, input] of (inputs ?? []).entries()) {
      expect(input.size).toBe((await readFile(parts[i]?.path ?? '')).length);
      expect(input.version).toMatch(/^etag:/);
    }
  });

  it('refuse, with 400 and the code, a dataset whose bucket, key or prefix is missing', async () => {
    for (const datasetUrl of ['s3://no-such-lake/in.jsonl', 's3://lake/absent.jsonl', 's3://lake/nothing-here/']) {
      const answer = await callApi(`${producer.url}/v1/batches`, 'POST', { datasetUrl });
      expect(answer.status, datasetUrl).toBe(400);
      expect(answer.json.error, datasetUrl).toMatchObject({ code: 'DATASET_NOT_FOUND', field: 'datasetUrl' });
    }
  });

  it('refuse an output location that cannot be written (a typo in the bucket) with 400 OUTPUT_NOT_WRITABLE naming outputUrl', async () => {
    await s3.put('lake', 'small.jsonl', '{"id": 1, "features": [1]}\n');
    const answer = await callApi(`${typoProducer.url}/v1/batches`, 'POST', { datasetUrl: 's3://lake/small.jsonl' });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'OUTPUT_NOT_WRITABLE', field: 'outputUrl' });
  });

  it('refuse a dataset the credentials may not read with 400 DATASET_FORBIDDEN', async () => {
    const answer = await callApi(`${wrongKeyProducer.url}/v1/batches`, 'POST', { datasetUrl: 's3://lake/small.jsonl' });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'DATASET_FORBIDDEN', field: 'datasetUrl' });
  });

  it('fail a scheduled run instead, with the code in its status, so the missed run shows', async () => {
    const missing = await tick(producer.url, { datasetUrl: 's3://lake/events/dt=2026-12-02/part-0.jsonl' });
    const unwritable = await tick(typoProducer.url, { datasetUrl: 's3://lake/small.jsonl' });
    expect(await waitForEnd(() => producer.url, missing)).toMatchObject({ status: 'failed', errorCode: 'DATASET_NOT_FOUND' });
    expect(await waitForEnd(() => typoProducer.url, unwritable)).toMatchObject({ status: 'failed', errorCode: 'OUTPUT_NOT_WRITABLE' });
  });

  it('fail a batch whose object is replaced while it is read with DATASET_CHANGED, never mixing the two', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-s3-svc-'));
    const before = await writeJsonlDataset(path.join(dir, 'v1.jsonl'), 20_000);
    const after = await writeJsonlDataset(path.join(dir, 'v2.jsonl'), 19_000);
    await s3.put('lake', 'rewritten.jsonl', await readFile(before.path));
    proxy.failNext('GET', {
      cutAfterBytes: 200_000,
      onCut: async () => {
        await s3.put('lake', 'rewritten.jsonl', await readFile(after.path));
      },
    });
    const id = await submitBatch(producer.url, { datasetUrl: 's3://lake/rewritten.jsonl' });
    const view = await waitForEnd(() => producer.url, id);
    expect(view).toMatchObject({ status: 'failed', errorCode: 'DATASET_CHANGED' });
    const logged = producer.logs.find((line) => line.batch_id === id && line.code === 'DATASET_CHANGED');
    expect(logged?.level).toBe(50);
  });

  it('log no secret key, in any line of any service, whatever failed', () => {
    // Every service logged (at debug), so the scan below covers all four, not a quiet one.
    for (const service of services()) expect(service.logs.raw.length).toBeGreaterThan(0);
    const lines = services().flatMap((s) => s.logs.raw);
    expect(lines.filter((line) => line.includes(TEST_SECRET_KEY))).toEqual([]);
    // The failures above were logged, with their causes: the scan covered them.
    expect(services().some((s) => s.logs.find((line) => line.code === 'DATASET_NOT_FOUND'))).toBe(true);
    expect(services().some((s) => s.logs.find((line) => line.code === 'OUTPUT_NOT_WRITABLE'))).toBe(true);
  });
});
