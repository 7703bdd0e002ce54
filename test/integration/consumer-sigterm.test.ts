/**
 * The runtime contract Knative and KEDA rely on: SIGTERM to a consumer in the middle of a
 * long chunk (the `sleep` model) stops it taking chunks, finishes or hands back the active
 * one within the drain timeout, exits 0, and the batch still completes with every record
 * exactly once.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_QUEUE } from '../../src/shared/batch/keys.js';
import type { BatchView } from '../../src/shared/types.js';
import { startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import type { GeneratedDataset } from '../helpers/datasets.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { connect, freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

let dir: string;
let redis: LocalRedis;
let client: Redis;
let dataset: GeneratedDataset;
const services: RunningService[] = [];
const queues: Queue[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-sigterm-'));
  redis = await startTestRedis();
  client = connect(redis.url);
  // 3 chunks of 40 records, 2 malformed lines among them.
  dataset = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 120, { bad: (line) => line === 7 || line === 95 });
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop('SIGKILL')));
  await Promise.all(queues.splice(0).map((q) => q.close()));
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

async function setup(
  name: string,
  model: string,
): Promise<{ env: Record<string, string>; producer: RunningService; queue: Queue; id: string; output: string }> {
  const output = path.join(dir, name);
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: freshPrefix(name),
    OUTPUT_URL: pathToFileURL(output).toString(),
    DATASET_ALLOWED_SCHEMES: 'file',
    CHUNK_SIZE: '40',
    LOG_LEVEL: 'debug',
  };
  const producer = await startService('producer', env);
  services.push(producer);
  const queue = new Queue(CHUNK_QUEUE, { connection: client, prefix: env.QUEUE_PREFIX });
  queues.push(queue);
  const res = await fetch(`${producer.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ datasetUrl: pathToFileURL(dataset.path).toString(), model }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  return { env, producer, queue, id, output };
}

async function view(producer: RunningService, id: string): Promise<BatchView> {
  return (await (await fetch(`${producer.url}/v1/batches/${id}`)).json()) as BatchView;
}

/** Sends SIGTERM once the consumer is in the middle of a chunk; resolves with how it exited. */
async function sigtermMidChunk(consumer: RunningService, queue: Queue): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  await waitUntil(async () => (await queue.getActiveCount()) === 1, { what: 'a chunk to be active', timeoutMs: 30_000 });
  return consumer.stop('SIGTERM');
}

describe('consumer SIGTERM in the middle of a long chunk', () => {
  it('hands the chunk back after DRAIN_TIMEOUT_SECONDS, exits 0, and the batch completes with every record once', async () => {
    const { env, producer, queue, id, output } = await setup('handback', 'sleep:6000');
    // As Knative runs it: K_* set by the platform.
    const knative = { K_SERVICE: 'consumer', K_CONFIGURATION: 'consumer', K_REVISION: 'consumer-00001' };
    const a = await startService('consumer', { ...env, ...knative, CONSUMER_CONCURRENCY: '1', DRAIN_TIMEOUT_SECONDS: '1' });
    services.push(a);

    const exit = await sigtermMidChunk(a, queue);
    // Exit 0 means the drain finished before its deadline (DRAIN_TIMEOUT_SECONDS + 10 s; past
    // it the process exits 1), so inside any grace period the manifests give it.
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(a.logs.find((l) => l.msg === 'draining')).toMatchObject({
      k_service: 'consumer',
      k_configuration: 'consumer',
      k_revision: 'consumer-00001',
    });
    expect(a.logs.find((l) => l.msg === 'chunk handed back to the queue (consumer shutting down)')).toBeDefined();
    expect(a.logs.find((l) => l.msg === 'drained')).toBeDefined();
    expect(a.logs.raw.length).toBe(a.logs.lines.length); // every line it wrote is JSON

    // The chunk is waiting again, no attempt used up, nothing accounted.
    const jobs = await queue.getJobs(['wait']);
    expect(jobs).toHaveLength(3);
    expect(jobs.map((j) => j.attemptsMade)).toEqual([0, 0, 0]);
    expect((await view(producer, id)).chunks).toMatchObject({ completed: 0, failed: 0 });

    services.push(await startService('consumer', { ...env, CONSUMER_CONCURRENCY: '3' }));
    const done = await waitUntil(
      async () => {
        const v = await view(producer, id);
        return v.status === 'completed' ? v : undefined;
      },
      { what: 'batch to complete', timeoutMs: 60_000 },
    );
    expect(done.chunks).toMatchObject({ total: 3, completed: 3, failed: 0 });
    expectEveryRecordOnce(await readBatchOutput(output, id), dataset.expected, dataset.badLines);
  });

  it('lets the active chunk finish when it fits the drain timeout, takes no other, exits 0', async () => {
    const { env, producer, queue, id, output } = await setup('finish', 'sleep:2500');
    const a = await startService('consumer', { ...env, CONSUMER_CONCURRENCY: '1', DRAIN_TIMEOUT_SECONDS: '30' });
    services.push(a);

    const exit = await sigtermMidChunk(a, queue);
    expect(exit).toMatchObject({ code: 0, signal: null });
    const afterA = await view(producer, id);
    expect(afterA.chunks).toMatchObject({ completed: 1, failed: 0 }); // the active one finished...
    expect(await queue.getWaitingCount()).toBe(2); // ...and no other was taken
    expect(a.logs.lines.filter((l) => l.msg === 'chunk done')).toHaveLength(1);

    services.push(await startService('consumer', { ...env, CONSUMER_CONCURRENCY: '2' }));
    await waitUntil(async () => (await view(producer, id)).status === 'completed', { what: 'batch to complete', timeoutMs: 60_000 });
    expectEveryRecordOnce(await readBatchOutput(output, id), dataset.expected, dataset.badLines);
  });
});
