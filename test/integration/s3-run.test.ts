/**
 * `batchinfer run s3://bucket/in.jsonl --output s3://bucket/out/` against a real
 * S3-compatible server (s3rver): the real CLI, its private redis-server and consumer
 * processes, configured only by the AWS SDK's own variables and `S3_FORCE_PATH_STYLE`.
 */
import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import type { GeneratedDataset } from '../helpers/datasets.js';
import { expectEveryRecordOnce } from '../helpers/output.js';
import { readS3BatchOutput, startS3rver, TEST_SECRET_KEY } from '../helpers/s3-server.js';
import type { TestS3 } from '../helpers/s3-server.js';

let s3: TestS3;
let data: GeneratedDataset;

beforeAll(async () => {
  s3 = await startS3rver();
  await s3.createBucket('lake');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-s3-run-'));
  data = await writeJsonlDataset(path.join(dir, 'in.jsonl'), 1200, { bad: (line) => line % 97 === 0, blankEvery: 250 });
  const bytes = await readFile(data.path);
  await s3.put('lake', 'in.jsonl', bytes);
  await s3.put('lake', 'in.jsonl.gz', gzipSync(bytes));
});

afterAll(async () => {
  await s3?.stop();
});

interface Summary {
  id: string;
  status: string;
  output: string;
  manifest: string | null;
  error?: string;
}

describe('batchinfer run with object storage', () => {
  it.each(['in.jsonl', 'in.jsonl.gz'])(
    'reads s3://lake/%s and writes parts, error files and the manifest under s3://lake/out/<batchId>/',
    async (key) => {
      // Debug logs: the most a run ever logs, none of it the secret key.
      const result = await runCli(
        ['run', `s3://lake/${key}`, '--output', 's3://lake/out/', '--chunk-size', '250', '--consumers', '2', '--json'],
        {
          env: s3.env({ LOG_LEVEL: 'debug' }),
        },
      );
      expect(result.code, result.stderr).toBe(0);
      const summary = JSON.parse(result.stdout) as Summary;
      expect(summary).toMatchObject({
        status: 'completed',
        output: `s3://lake/out/${summary.id}`,
        manifest: `s3://lake/out/${summary.id}/manifest.json`,
      });
      const output = await readS3BatchOutput(s3, 'lake', 'out', summary.id);
      expectEveryRecordOnce(output, data.expected, data.badLines);
      expect(output.manifest).toMatchObject({ batchId: summary.id, status: 'completed', output: `s3://lake/out/${summary.id}` });
      expect(output.files.filter((f) => f.startsWith('part-'))).toHaveLength(5);
      expect(result.stderr.split('\n').length).toBeGreaterThan(10);
      expect(result.stdout + result.stderr).not.toContain(TEST_SECRET_KEY);
    },
  );

  it('fails before starting when the dataset or the output bucket is missing, naming which', async () => {
    const missingKey = await runCli(['run', 's3://lake/absent.jsonl', '--output', 's3://lake/out/', '--json'], { env: s3.env() });
    const missingBucket = await runCli(['run', 's3://lake/in.jsonl', '--output', 's3://no-such-bucket/out', '--json'], { env: s3.env() });
    for (const result of [missingKey, missingBucket]) {
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).not.toContain(TEST_SECRET_KEY);
    }
    expect(missingKey.stderr).toContain('s3://lake/absent.jsonl');
    expect(missingBucket.stderr).toContain('no-such-bucket');
  });
});
