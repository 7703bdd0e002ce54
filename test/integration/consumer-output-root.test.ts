/**
 * A consumer writes only inside its own OUTPUT_URL, whatever a chunk on the queue says: a
 * chunk written to Redis by someone other than the producer cannot direct its output
 * elsewhere, plainly or through a symbolic link. Real consumer process, real Redis, real files.
 */
import { mkdir, readdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import { buildChunkEvent } from '../../src/shared/events/chunk-event.js';
import { chunkJobId, createChunkQueue } from '../../src/shared/events/chunk-queue.js';
import { metricKeys } from '../../src/shared/batch/keys.js';
import { batchRequest, chunkData } from '../helpers/batch-requests.js';
import { it } from '../helpers/fixtures.js';
import { readBatchOutput } from '../helpers/output.js';
import { waitUntil } from '../helpers/wait-until.js';

describe('a consumer', () => {
  it('refuses, for good and writing nothing, a chunk whose output location is outside its OUTPUT_URL', async ({
    workDir: dir,
    redisClient: redis,
    serviceEnv,
    services,
  }) => {
    const root = path.join(dir, 'out');
    const elsewhere = path.join(dir, 'elsewhere');
    const linked = path.join(dir, 'linked');
    await Promise.all([mkdir(root), mkdir(elsewhere), mkdir(linked)]);
    await symlink(linked, path.join(root, 'escape'));
    const url = (p: string): string => pathToFileURL(p).toString();

    const env = serviceEnv({ OUTPUT_URL: url(root), CHUNK_ATTEMPTS: '3' });
    const prefix = env.QUEUE_PREFIX;
    const store = new BatchStore(redis, prefix, 3600);
    const id = 'forged-batch';
    // The batch as the producer made it: inside the root.
    await store.create(id, batchRequest({ chunkSize: 1, outputUrl: url(root) }));
    await store.markIngested(id, 3, 3);
    await services.start('consumer', env);

    // Chunks as anyone with access to Redis could write them: whole chunks (as earlier builds
    // queued them), two naming an output out of the root.
    const queue = createChunkQueue(redis, { prefix, attempts: 3, backoffMs: 10 });
    const outputs = [url(elsewhere), url(path.join(root, 'escape')), url(root)];
    await queue.addBulk(
      outputs.map((outputUrl, chunkIndex) => {
        const chunk = chunkData({ batchId: id, chunkIndex, records: [`{"id":${chunkIndex},"features":[1]}`], outputUrl });
        return { name: 'chunk' as const, data: { ...buildChunkEvent(chunk), data: chunk }, opts: { jobId: chunkJobId(id, chunkIndex) } };
      }),
    );

    const view = await waitUntil(async () => ((v) => (v?.status === 'failed' ? v : undefined))(await store.get(id)), {
      what: 'the batch to end',
    });
    expect(view.chunks).toMatchObject({ completed: 1, failed: 2 });
    expect(view.failedChunks).toEqual([0, 1]);
    expect(view.records).toMatchObject({ succeeded: 1, failed: 2 });
    // Refused at once (no retries), with a reason of its own.
    expect(await redis.hgetall(metricKeys(prefix).chunkFailures)).toEqual({ output_refused: '2' });
    expect(await redis.hgetall(metricKeys(prefix).chunkRetries)).toEqual({});
    for (const index of [0, 1]) {
      const job = await queue.getJob(chunkJobId(id, index));
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toContain('OUTPUT_URL');
    }
    // Nothing was written outside the root, not even an error file.
    expect(await readdir(elsewhere)).toEqual([]);
    expect(await readdir(linked)).toEqual([]);
    // The chunk that asked for the root was written there.
    const output = await readBatchOutput(root, id);
    expect(output.predictions).toEqual([{ id: 2, prediction: 1 }]);
    await queue.close();
  });
});
