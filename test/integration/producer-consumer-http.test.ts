/**
 * The same batch through separate `batchinfer producer` and `batchinfer consumer`
 * processes over HTTP gives the same outputs as `batchinfer run`, and the status API shows
 * counts and status moving to `completed`.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import { waitForBatch } from '../helpers/batches.js';
import { runCli } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';

describe('producer and consumer as separate services', () => {
  it('produce the same outputs as `run`, with status moving to completed', async ({ workDir, redis, serviceEnv, services }) => {
    const data = await writeJsonlDataset(path.join(workDir, 'd.jsonl'), 3000, { bad: (line) => line % 211 === 0 });
    const output = path.join(workDir, 'out');
    const env = serviceEnv({ CHUNK_SIZE: '250' });
    const producer = await services.start('producer', env);

    const submit = await fetch(`${producer.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ datasetUrl: pathToFileURL(data.path).toString(), labels: { team: 'risk' } }),
    });
    expect(submit.status).toBe(202);
    const { id, status, links } = (await submit.json()) as { id: string; status: string; links: { self: string } };
    expect(status).toBe('ingesting');
    expect(links.self).toBe(`/v1/batches/${id}`);

    // With no consumer yet the batch is ingested and waits: the queue holds it.
    const waiting = await waitForBatch(
      () => producer.url,
      id,
      (view) => view.status === 'running',
      'ingest to finish',
    );
    expect(waiting.chunks).toMatchObject({ total: 12, completed: 0 });
    expect(waiting.records).toMatchObject({ total: data.records, succeeded: 0 });

    await Promise.all([services.start('consumer', env), services.start('consumer', env)]);
    const done = await waitForBatch(
      () => producer.url,
      id,
      (view) => view.status === 'completed',
      'batch to complete',
    );
    expect(done.records).toEqual({ total: data.records, read: data.records, succeeded: data.expected.size, failed: data.badLines.length });
    expect(done.chunks).toMatchObject({ total: 12, completed: 12, failed: 0 });
    expect(done.cost.usd).toBeGreaterThan(0);
    expect(done.cost.cpuSeconds).toBeGreaterThan(0);
    expect(done.completedAt).not.toBeNull();
    expect(done.labels).toEqual({ team: 'risk' });

    const viaServices = await readBatchOutput(output, id);
    expectEveryRecordOnce(viaServices, data.expected, data.badLines);

    // The same dataset through `batchinfer run` writes the same records and errors.
    const runOut = path.join(workDir, 'run-out');
    const run = await runCli(['run', data.path, '--output', runOut, '--chunk-size', '250', '--json'], { env: { REDIS_URL: redis.url } });
    expect(run.code, run.stderr).toBe(0);
    const viaRun = await readBatchOutput(runOut, (JSON.parse(run.stdout) as { id: string }).id);
    const byId = (a: { id: unknown }, b: { id: unknown }): number => String(a.id).localeCompare(String(b.id));
    expect(viaRun.predictions.sort(byId)).toEqual(viaServices.predictions.sort(byId));
    expect(viaRun.errors).toEqual(viaServices.errors);
    expect(viaRun.files).toEqual(viaServices.files);
  });
});
