/**
 * A chunk whose first attempt fails (its output folder is blocked) and whose retry succeeds,
 * through a real `batchinfer consumer`: the wait histogram gets one observation per attempt
 * and the retry's wait does not include the backoff or the first attempt; the failed
 * attempt's cost is part of the batch's cost; records are counted once.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import { buildChunkEvent } from '../../src/shared/events/chunk-event.js';
import { chunkJobId, createChunkQueue } from '../../src/shared/events/chunk-queue.js';
import { metricKeys } from '../../src/shared/batch/keys.js';
import { batchRequest, chunkData } from '../helpers/batch-requests.js';
import { it } from '../helpers/fixtures.js';
import { waitUntil } from '../helpers/wait-until.js';

const BACKOFF_MS = 3000;

describe('a retried chunk', () => {
  it('is observed per attempt, costs both attempts, and counts its records once', async ({
    workDir: dir,
    redisClient: redis,
    serviceEnv,
    services,
  }) => {
    const env = serviceEnv();
    const prefix = env.QUEUE_PREFIX;
    const output = path.join(dir, 'out');
    await mkdir(output, { recursive: true });
    const store = new BatchStore(redis, prefix, 3600);
    const id = 'retried-batch';
    const records = Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `r${i}`, features: [i, 1] }));
    await store.create(id, batchRequest({ chunkSize: 20, outputUrl: pathToFileURL(output).toString(), labels: { team: 'risk' } }));
    await store.markIngested(id, 1, records.length);

    // A file where the batch's folder should be: the first attempt cannot write its part.
    const blocker = path.join(output, id);
    await writeFile(blocker, 'not a folder');
    const queue = createChunkQueue(redis, { prefix, attempts: 2 });
    // The consumer is up first, so the first attempt's wait is short too.
    await services.start('consumer', env);
    const enqueuedAt = Date.now();
    await queue.add(
      'chunk',
      buildChunkEvent(chunkData({ batchId: id, chunkIndex: 0, records, outputUrl: pathToFileURL(output).toString() })),
      { jobId: chunkJobId(id, 0), attempts: 2, backoff: { type: 'fixed', delay: BACKOFF_MS } },
    );

    const keys = metricKeys(prefix);
    const retries = await waitUntil(
      async () => ((h) => (Object.keys(h).length > 0 ? h : undefined))(await redis.hgetall(keys.chunkRetries)),
      {
        what: 'the first attempt to fail',
      },
    );
    expect(Object.values(retries)).toEqual(['1']);
    expect(Object.keys(retries)[0]).toMatch(/^system_e[a-z]+$/);
    await waitUntil(async () => (await queue.getJobState(chunkJobId(id, 0))) === 'delayed', { what: 'the retry to wait out its backoff' });
    await rm(blocker);

    const view = await waitUntil(async () => ((v) => (v?.status === 'completed' ? v : undefined))(await store.get(id)), {
      what: 'the batch to complete',
    });
    const elapsedSeconds = (Date.now() - enqueuedAt) / 1000;
    expect(view.records).toMatchObject({ succeeded: 20, failed: 0 });
    expect(view.chunks).toMatchObject({ completed: 1, failed: 0 });

    const wait = await redis.hgetall(keys.waitHistogram);
    const processing = await redis.hgetall(keys.processingHistogram);
    expect(Number(wait.count)).toBe(2);
    expect(Number(processing.count)).toBe(2);
    // The chunk took longer than the backoff from enqueue to done, yet its two waits add up
    // to well under it: the retry waited from when it became runnable, not from creation.
    expect(elapsedSeconds).toBeGreaterThan(BACKOFF_MS / 1000);
    expect(Number(wait.sum)).toBeLessThan(BACKOFF_MS / 1000 - 0.5);

    // Both attempts are in the batch's cost and wall time, and in the cost counters.
    const [costField] = Object.keys(await redis.hgetall(keys.costUsd));
    expect(JSON.parse(costField ?? '[]')).toEqual(['risk', '', 'sum']);
    expect(Number(await redis.hget(keys.costUsd, costField ?? ''))).toBeCloseTo(view.cost.usd, 15);
    expect(view.cost.wallSeconds).toBeCloseTo(Number(processing.sum), 9);
    expect(Number(await redis.hget(keys.records, JSON.stringify(['succeeded', 'risk', '', 'sum'])))).toBe(20);
    await queue.close();
  });
});
