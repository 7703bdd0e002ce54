/**
 * An output location that breaks during a batch, with real `batchinfer producer` and
 * `consumer` processes over a real redis-server: the chunk fails with a reason, is retried,
 * and the batch ends `failed`; it never hangs, whatever the sink does.
 */
import { rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import { submitBatch, waitForBatch, waitForEnd } from '../helpers/batches.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import type { GeneratedDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import type { ServiceEnvFactory, ServiceGroup } from '../helpers/fixtures.js';

let dir: string;
let data: GeneratedDataset;
let serviceEnv: ServiceEnvFactory;

it.beforeAll(async ({ workDir, serviceEnv: envOf }) => {
  dir = workDir;
  serviceEnv = envOf;
  data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 400);
  await writeFile(path.join(dir, 'slow.json'), JSON.stringify({ delayMs: 400 }));
});

async function pipeline(services: ServiceGroup, outputDir: string): Promise<{ producer: RunningService; consumer: RunningService }> {
  const env = serviceEnv({
    OUTPUT_URL: pathToFileURL(outputDir).toString(),
    MODEL_ROOT: dir,
    CHUNK_SIZE: '100',
    CHUNK_ATTEMPTS: '3',
    CHUNK_BACKOFF_MS: '50',
    CONSUMER_CONCURRENCY: '1',
  });
  return { producer: await services.start('producer', env), consumer: await services.start('consumer', env) };
}

describe('an output location that breaks mid-batch', () => {
  it('a file where the batch folder was: chunks fail with the reason after their retries, the batch fails', async ({ services }) => {
    const out = path.join(dir, 'out-file');
    const { producer, consumer } = await pipeline(services, out);
    const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(data.path).toString(), model: 'drill:slow.json' });
    await waitForBatch(
      () => producer.url,
      id,
      (v) => v.chunks.completed >= 1,
      'a chunk to be written',
    );
    // The batch's folder becomes a file: every later write fails (ENOTDIR).
    await rm(path.join(out, id), { recursive: true, force: true });
    await writeFile(path.join(out, id), 'not a folder');

    const view = await waitForEnd(() => producer.url, id, 30_000);
    expect(view.status).toBe('failed');
    expect(view.chunks.failed).toBeGreaterThan(0);
    expect(view.chunks.completed + view.chunks.failed).toBe(4);
    const retried = consumer.logs.lines.filter((l) => l.batch_id === id && l.msg === 'chunk attempt failed; will retry');
    expect(retried.length, 'sink errors are retried').toBeGreaterThan(0);
    const failed = consumer.logs.lines.filter((l) => l.batch_id === id && l.msg === 'chunk failed after all attempts');
    expect(failed.map((l) => l.failure_reason)).toContain('system_enotdir');
  });

  it('an output folder that turns into a link under /proc (mkdir there never ends in Node): the batch fails, never hangs', async ({
    services,
  }) => {
    const out = path.join(dir, 'out-proc');
    const { producer, consumer } = await pipeline(services, out);
    const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(data.path).toString(), model: 'drill:slow.json' });
    // Before the first chunk has written (each takes 400 ms), the output root becomes a link
    // to a folder under /proc that does not exist: the consumer must make <root>/<id> there.
    await rm(out, { recursive: true, force: true });
    await symlink('/proc/self/no-such-folder', out);

    const view = await waitForEnd(() => producer.url, id, 30_000);
    expect(view.status).toBe('failed');
    expect(view.chunks.failed).toBe(4);
    expect(consumer.logs.find((l) => l.batch_id === id && l.msg === 'chunk attempt failed; will retry')).toBeDefined();
  });
});
