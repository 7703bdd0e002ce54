/**
 * A model that throws on some chunks, through real producer and consumer processes: each
 * such chunk is retried with backoff, then failed with its reason; the batch ends `failed`
 * listing them; once the model is healed, `POST /v1/batches/:id/retry` re-runs those chunks
 * and only those, and the batch closes again as `completed`.
 */
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import { chunkJobId } from '../../src/shared/events/chunk-queue.js';
import { partName } from '../../src/shared/io/sinks/output-layout.js';
import { callApi, getBatch, submitBatch, waitForEnd } from '../helpers/batches.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { waitUntil } from '../helpers/wait-until.js';

const CHUNK = 100;
const POISONED = [2, 7];

describe('chunks the model fails on', () => {
  it('are retried with backoff, failed with their reason, and re-run alone by POST /retry', async ({
    workDir: dir,
    serviceEnv,
    services,
    probeQueue,
  }) => {
    const chunkOf = (line: number): number => Math.floor((line - 1) / CHUNK);
    // One record of each poisoned chunk carries the value the drill model fails on.
    const data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 1000, {
      bad: (line) => line % 89 === 0,
      features: (line) => (POISONED.includes(chunkOf(line)) && line % CHUNK === 50 ? [999, 1] : [line % 10, 2]),
    });
    const model = path.join(dir, 'flaky.json');
    await writeFile(model, JSON.stringify({ failWhenFeature: 999, message: 'model server returned 503' }));
    const output = path.join(dir, 'out');
    const env = serviceEnv({
      // The streaming path: this test relies on chunks of exactly CHUNK_SIZE lines (which lines each chunk holds); splits: split-batches.test.ts.
      INGEST_SPLITS: 'false',
      MODEL_ROOT: dir,
      CHUNK_SIZE: String(CHUNK),
      CHUNK_ATTEMPTS: '3',
      CHUNK_BACKOFF_MS: '100',
      LOG_LEVEL: 'debug',
    });
    const probe = probeQueue(env.QUEUE_PREFIX);
    const producer = await services.start('producer', env);
    const consumer = await services.start('consumer', env);

    const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(data.path).toString(), model: 'drill:flaky.json' });
    const failed = await waitForEnd(() => producer.url, id);
    expect(failed.status).toBe('failed');
    expect(failed.failedChunks).toEqual(POISONED);
    expect(failed.chunks).toMatchObject({ total: 10, completed: 8, failed: 2 });
    // The first chunk to fail for good is the cause; both are counted by code.
    expect(failed.error).toMatchObject({ code: 'CHUNK_FAILED', message: 'model server returned 503', attempts: 3 });
    expect(POISONED).toContain(failed.error?.chunkIndex);
    expect(failed.failures).toEqual({ CHUNK_FAILED: 2 });
    const failedIds = [...data.expected.keys()].filter((rid) => POISONED.includes(chunkOf(Number(String(rid).slice(1)))));
    const before = await readBatchOutput(output, id);
    expectEveryRecordOnce(before, data.expected, data.badLines, { failedIds, view: failed });
    expect(before.manifest?.status).toBe('failed');
    expect(before.errors.find((e) => e.id === failedIds[0])?.error).toBe('chunk failed: model server returned 503');

    // Three tries each, the first two logged as retried, and the failed jobs kept for a retry.
    for (const chunk of POISONED) {
      const jobId = chunkJobId(id, chunk);
      const retried = consumer.logs.lines.filter((l) => l.msg === 'chunk attempt failed; will retry' && l.job_id === jobId);
      expect(retried.map((l) => l.attempt)).toEqual([1, 2]);
      const job = await probe.queue.getJob(jobId);
      expect(job?.attemptsMade).toBe(3);
      expect(await job?.getState()).toBe('failed');
    }

    const parts = new Map<number, number>();
    for (let chunk = 0; chunk < 10; chunk++) {
      if (!POISONED.includes(chunk)) parts.set(chunk, (await stat(path.join(output, id, partName(chunk)))).ino);
    }
    // The model is fixed (a new model server, a corrected file); the failed chunks run again.
    await writeFile(model, JSON.stringify({}));
    const retry = await callApi<{ status: string; retried: number[]; unavailable: number[] }>(
      `${producer.url}/v1/batches/${id}/retry`,
      'POST',
    );
    expect(retry.status).toBe(202);
    expect(retry.json).toMatchObject({ status: 'running', retried: POISONED, unavailable: [] });

    const done = await waitForEnd(() => producer.url, id);
    expect(done.status).toBe('completed');
    expect(done.failedChunks).toEqual([]);
    expect(done.chunks).toMatchObject({ total: 10, completed: 10, failed: 0 });
    const after = await readBatchOutput(output, id);
    expectEveryRecordOnce(after, data.expected, data.badLines, { view: done });
    expect(after.manifest?.status).toBe('completed');
    // Only the failed chunks ran again: every other part is the file written the first time.
    for (const [chunk, ino] of parts) expect((await stat(path.join(output, id, partName(chunk)))).ino, `part ${chunk}`).toBe(ino);
    // Across both runs, each chunk succeeded exactly once.
    const doneChunks = (): number[] => consumer.logs.lines.filter((l) => l.msg === 'chunk done').map((l) => l.chunk_index as number);
    await waitUntil(() => doneChunks().length >= 10, { what: 'the consumer logs' });
    expect(doneChunks().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    // A completed batch, and an unknown one, cannot be retried.
    const again = await callApi(`${producer.url}/v1/batches/${id}/retry`, 'POST');
    expect(again.status).toBe(409);
    expect(again.json.error?.code).toBe('BATCH_NOT_RETRYABLE');
    expect((await callApi(`${producer.url}/v1/batches/nope/retry`, 'POST')).status).toBe(404);
    expect((await getBatch(producer.url, id)).status).toBe('completed');
  });
});
