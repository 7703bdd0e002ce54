/**
 * `submit`, `status [--watch]`, `retry` and `cancel` as a user types them, through the
 * built CLI against a real producer and consumer (real redis-server, real files): status
 * shows state, counts, cost, wall time, the batch's own output folder and why it failed;
 * the exit code follows the batch.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

let dir: string;
let redis: LocalRedis;
let producer: RunningService;
let consumer: RunningService;
let output: string;
let model: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-cmds-'));
  output = path.join(dir, 'out');
  model = path.join(dir, 'flaky.json');
  await writeFile(model, JSON.stringify({ failWhenFeature: 999, message: 'model server returned 503' }));
  redis = await startTestRedis();
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: freshPrefix('cmds'),
    OUTPUT_URL: pathToFileURL(output).toString(),
    DATASET_ALLOWED_SCHEMES: 'file',
    MODEL_ROOT: dir,
    CHUNK_SIZE: '100',
    CHUNK_ATTEMPTS: '1',
  };
  producer = await startService('producer', env);
  consumer = await startService('consumer', env);
});
afterAll(async () => {
  await consumer?.stop();
  await producer?.stop();
  await redis?.stop();
});

const cli = (args: string[]) => runCli([...args, '--server', producer.url]);

describe('batch commands against a running producer', () => {
  it('submit, then status --watch ends with the summary: counts, dollars, wall time, ISO times, the batch folder', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'ok.jsonl'), 300);
    const submitted = await cli(['submit', pathToFileURL(data.path).toString()]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    const watched = await cli(['status', id, '--watch']);
    expect(watched.code, watched.stderr).toBe(0);
    const text = watched.stdout;
    expect(text).toMatch(new RegExp(`^batch ${id}: completed$`, 'm'));
    expect(text).toMatch(/records: 300 predicted, 0 errors \(of 300\)/);
    expect(text).toMatch(/cost: +\$0\.\d+ \(\$\d+(\.\d+)? per 1M records\)/);
    // No number in exponent form (5.671e-8); the batch id is left out, as a UUID can hold "e-9".
    expect(text.replaceAll(id, '')).not.toMatch(/e-\d/);
    // An efficiency above 1 (these consumers run without a CPU limit) is never left unexplained.
    const efficiency = /efficiency (\d+\.\d+)/.exec(text);
    if (efficiency && Number(efficiency[1]) > 1) expect(text).toMatch(/above 1 means .* used more/);
    expect(text).toMatch(/time: +\d+(\.\d+)? (s|min)/);
    expect(text).toMatch(/started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)/);
    expect(text).toContain(`output:  ${path.join(output, id)}`);

    const json = await cli(['status', id, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      id,
      status: 'completed',
      output: { url: pathToFileURL(path.join(output, id)).toString() },
    });
  });

  it('a failed batch: status says why and exits 1; retry re-runs it; retrying a completed one is exit 2', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'poisoned.jsonl'), 200, {
      features: (line) => (line === 150 ? [999, 1] : [line % 10, 2]),
    });
    const submitted = await cli(['submit', pathToFileURL(data.path).toString(), '--model', 'drill:flaky.json', '--json']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    const failed = await cli(['status', id, '--watch']);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stdout).toMatch(new RegExp(`^batch ${id}: failed$`, 'm'));
    expect(failed.stdout).toMatch(/error: +.*chunk/);
    expect(failed.stdout).toMatch(/^ {2}failed: +1 CHUNK_FAILED$/m);

    await writeFile(model, JSON.stringify({}));
    const retried = await cli(['retry', id]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/running again, 1 failed chunk\(s\) re-queued/);
    const done = await cli(['status', id, '--watch', '--json']);
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ status: 'completed' });

    const again = await cli(['retry', id]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/409/);
  });

  it('cancel stops a running batch (status then exits 1); an unknown id is exit 2 with a hint', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'slow.jsonl'), 3000);
    // A model that waits per record keeps the batch running long enough to cancel.
    const submitted = await cli(['submit', pathToFileURL(data.path).toString(), '--model', 'sleep:50', '--chunk-size', '10']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    const cancelled = await cli(['cancel', id]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`batch ${id}: cancelled`));
    const status = await cli(['status', id]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/: cancelled$/m);

    const unknown = await cli(['status', 'no-such-batch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^batchinfer status: the producer answered 404: .*check the batch id/);
  });
});
