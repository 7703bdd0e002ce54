/**
 * Consumers that die or freeze mid-chunk, as real `batchinfer consumer` processes over a real
 * redis-server: the chunk is taken up again (BullMQ stalled-job recovery, with the short lock
 * settings tests configure), its part is rewritten, never doubled; a chunk that keeps losing
 * its consumer is failed and accounted, and can be retried.
 */
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import { partName } from '../../src/shared/io/sinks/output-layout.js';
import { callApi, getBatch, submitBatch, waitForBatch, waitForEnd } from '../helpers/batches.js';
import { chunkIndexOf } from '../helpers/chunk-queue.js';
import type { QueueProbe } from '../helpers/chunk-queue.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import type { GeneratedDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import type { PipelineEnv, ServiceEnvFactory } from '../helpers/fixtures.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { waitUntil } from '../helpers/wait-until.js';

const CHUNK = 100;
let dir: string;
let serviceEnv: ServiceEnvFactory;
let data: GeneratedDataset;

it.beforeAll(async ({ workDir, serviceEnv: envOf }) => {
  dir = workDir;
  serviceEnv = envOf;
  data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 1600, { bad: (line) => line % 97 === 0 });
  // Each chunk takes 400 ms (or 1.2 s), like a real model: a kill lands mid-chunk.
  await writeFile(path.join(dir, 'slow.json'), JSON.stringify({ delayMs: 400 }));
  await writeFile(path.join(dir, 'slower.json'), JSON.stringify({ delayMs: 1200 }));
});
function pipelineEnv(extra: Record<string, string> = {}): PipelineEnv {
  return serviceEnv({
    // The streaming path: this test relies on chunks of exactly CHUNK_SIZE lines (which lines each chunk holds); splits: split-batches.test.ts.
    INGEST_SPLITS: 'false',
    MODEL_ROOT: dir,
    CHUNK_SIZE: String(CHUNK),
    // A lost consumer's chunk is taken up again within ~2.5 s instead of ~45 s.
    CHUNK_LOCK_DURATION_MS: '2000',
    CHUNK_STALLED_INTERVAL_MS: '500',
    LOG_LEVEL: 'debug',
    ...extra,
  });
}

/** Waits until `consumer` is working on a chunk; returns the chunk job ids it holds. */
async function busyWith(probe: QueueProbe, consumer: RunningService): Promise<string[]> {
  return waitUntil(
    async () => {
      const held = await probe.activeOf(consumer.process.pid);
      return held && held.length > 0 ? held : undefined;
    },
    { what: 'the consumer to be mid-chunk', intervalMs: 20 },
  );
}

const outputDir = (): string => path.join(dir, 'out');
/** Ids of the well-formed records of chunk `index` (of `size` lines). */
const idsOfChunk = (index: number, size = CHUNK): string[] =>
  Array.from({ length: size }, (_, k) => `r${index * size + k + 1}`).filter((id) => data.expected.has(id));

describe('a consumer lost mid-chunk', () => {
  it('SIGKILL: its chunks are taken up by another consumer and every record is written once', async ({ services, probeQueue }) => {
    const env = pipelineEnv();
    const probe = probeQueue(env.QUEUE_PREFIX);
    const producer = await services.start('producer', env);
    const survivor = await services.start('consumer', env);
    const victim = await services.start('consumer', env);
    const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(data.path).toString(), model: 'drill:slow.json' });

    const holding = await busyWith(probe, victim);
    victim.process.kill('SIGKILL');
    await victim.exited;
    // Chunks it held that had not completed when it died (a dead process completes nothing).
    const active = new Set((await probe.queue.getActive()).map((job) => job.id));
    const held = holding.filter((jobId) => active.has(jobId));
    expect(held.length, 'the kill landed mid-chunk').toBeGreaterThan(0);

    const view = await waitForEnd(() => producer.url, id);
    expect(view.status).toBe('completed');
    expect(view.chunks).toMatchObject({ total: 16, completed: 16, failed: 0 });
    expectEveryRecordOnce(await readBatchOutput(outputDir(), id), data.expected, data.badLines, { view });
    // The survivor found the dead consumer's chunks (their lock lapsed) and ran them.
    const stalled = survivor.logs.lines.filter((l) => l.msg?.startsWith('chunk stalled')).map((l) => l.job_id);
    expect(stalled).toEqual(expect.arrayContaining(held));
    for (const jobId of held) {
      expect(
        survivor.logs.find((l) => l.msg === 'chunk done' && l.job_id === jobId),
        `survivor ran ${jobId}`,
      ).toBeDefined();
    }
  });

  it('frozen past its lock (SIGSTOP), then thawed: the chunk runs twice, its part is rewritten, nothing is doubled', async ({
    services,
  }) => {
    // One chunk at a time, 1.2 s each: the freeze lands early in the chunk, before its part is written.
    const env = pipelineEnv({ CONSUMER_CONCURRENCY: '1' });
    const producer = await services.start('producer', env);
    const other = await services.start('consumer', env);
    const frozen = await services.start('consumer', env);
    const id = await submitBatch(producer.url, {
      datasetUrl: pathToFileURL(data.path).toString(),
      model: 'drill:slower.json',
      chunkSize: 400,
    });

    // Frozen once inside the chunk, in the model's 1.2 s: frozen before its processor had read the
    // chunk's state, the thawed consumer would find the chunk accounted and skip it.
    const started = await waitUntil(() => frozen.logs.find((l) => l.msg === 'chunk started'), {
      what: 'the consumer to start a chunk',
      intervalMs: 20,
    });
    const jobId = String(started.job_id);
    frozen.process.kill('SIGSTOP');
    // The other consumer takes the chunk over once the frozen one's lock lapses, and writes its part.
    await waitUntil(() => other.logs.find((l) => l.msg === 'chunk done' && l.job_id === jobId), { what: `${jobId} to run again` });
    const part = path.join(outputDir(), id, partName(chunkIndexOf(jobId)));
    const firstWrite = await stat(part);

    expect(
      frozen.logs.find((l) => l.msg === 'chunk done' && l.job_id === jobId),
      'frozen before finishing',
    ).toBeUndefined();
    frozen.process.kill('SIGCONT');
    // The thawed consumer finishes its (stale) run of the same chunk: it writes the part again.
    await waitUntil(() => frozen.logs.find((l) => l.msg === 'chunk done' && l.job_id === jobId), { what: 'the thawed consumer to finish' });
    expect((await stat(part)).ino, 'the part was replaced whole').not.toBe(firstWrite.ino);

    const view = await waitForEnd(() => producer.url, id);
    expect(view.status).toBe('completed');
    expectEveryRecordOnce(await readBatchOutput(outputDir(), id), data.expected, data.badLines, { view: await getBatch(producer.url, id) });
  });

  it('a chunk that loses its consumer too often is failed and accounted, and a retry completes the batch', async ({
    services,
    probeQueue,
  }) => {
    // CHUNK_MAX_STALLED_COUNT=0: the first lost consumer fails the chunk (BullMQ fails it,
    // not our processor, so the consumer's 'failed' listener must account it).
    const env = pipelineEnv({ CHUNK_MAX_STALLED_COUNT: '0', CONSUMER_CONCURRENCY: '1' });
    const probe = probeQueue(env.QUEUE_PREFIX);
    const producer = await services.start('producer', env);
    const first = await services.start('consumer', env);
    const id = await submitBatch(producer.url, {
      datasetUrl: pathToFileURL(data.path).toString(),
      model: 'drill:slower.json',
      chunkSize: 400,
    });

    const [jobId = ''] = await busyWith(probe, first);
    const lost = chunkIndexOf(jobId);
    first.process.kill('SIGKILL');
    await first.exited;
    expect(
      (await probe.queue.getActive()).map((job) => job.id),
      'the kill landed mid-chunk',
    ).toContain(jobId);
    await services.start('consumer', env);

    const failed = await waitForEnd(() => producer.url, id);
    expect(failed.status).toBe('failed');
    expect(failed.failedChunks).toEqual([lost]);
    expect(failed.error).toMatchObject({ code: 'STALLED', chunkIndex: lost });
    expect(failed.failures).toEqual({ STALLED: 1 });
    const failedIds = idsOfChunk(lost, 400);
    const out = await readBatchOutput(outputDir(), id);
    expectEveryRecordOnce(out, data.expected, data.badLines, { failedIds, view: failed });
    expect(out.errors.find((e) => e.id === failedIds[0])?.error).toContain('stalled');

    const retry = await callApi<{ retried: number[] }>(`${producer.url}/v1/batches/${id}/retry`, 'POST');
    expect(retry.status).toBe(202);
    expect(retry.json.retried).toEqual([lost]);
    const done = await waitForBatch(
      () => producer.url,
      id,
      (v) => v.status !== 'running',
      'the retried batch to close',
    );
    expect(done.status).toBe('completed');
    expect(done.failedChunks).toEqual([]);
    expectEveryRecordOnce(await readBatchOutput(outputDir(), id), data.expected, data.badLines, { view: done });
  });
});
