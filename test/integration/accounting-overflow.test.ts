/**
 * A chunk whose totals are not finite numbers (each prediction finite, their sum past
 * Number.MAX_VALUE) is refused by the store with ACCOUNTING_VALUE_INVALID: the chunk fails
 * for good with that cause, its records go to its error file (and its part is removed), and
 * the batch ends failed instead of hanging or storing "inf" in its totals.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { readBatchOutput } from '../helpers/output.js';
import { startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

let dir: string;
let redis: LocalRedis;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-overflow-'));
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('a chunk whose prediction sum overflows', () => {
  it('fails with ACCOUNTING_VALUE_INVALID, every record in the error file once, and the batch ends failed', async () => {
    const dataset = path.join(dir, 'huge.jsonl');
    await writeFile(
      dataset,
      ['{"id": 1, "features": [1e308]}', '{"id": 2, "features": [1e308]}', '{"id": 3, "features": [1]}', ''].join('\n'),
    );
    const out = path.join(dir, 'out');
    const result = await runCli(['run', dataset, '--output', out, '--json'], { env: { REDIS_URL: redis.url } });
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as { id: string; status: string; errorCode?: string; error?: string };
    expect(summary).toMatchObject({ status: 'failed', errorCode: 'ACCOUNTING_VALUE_INVALID' });
    expect(summary.error).toContain('predictionSum must be a finite number');
    const output = await readBatchOutput(out, summary.id);
    expect(output.predictions).toEqual([]);
    expect(output.files.filter((f) => f.startsWith('part-'))).toEqual([]);
    expect(output.errors.map((e) => e.id).sort()).toEqual([1, 2, 3]);
    expect(output.manifest?.counts.records).toMatchObject({ succeeded: 0, failed: 3 });
  });
});
