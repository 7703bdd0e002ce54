/**
 * `batchinfer run` end to end: real CLI process, real redis-server (started by the CLI
 * itself or by the test), real consumer processes, real files.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

let dir: string;
let redis: LocalRedis;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-run-'));
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

interface Summary {
  id: string;
  status: string;
  avg_prediction: number;
  total_cost_usd: number;
  records: { succeeded: number; failed: number; total: number };
  chunks: { total: number; failed: number };
  chunkSize: number;
  output: string;
}

describe('batchinfer run', () => {
  it('scores the reference lab dataset: predictions 6 and 15, avg 10.5, positive cost (private redis-server)', async () => {
    const dataset = path.join(dir, 'lab.jsonl');
    await writeFile(dataset, '{"id": 1, "features": [1.0, 2.0, 3.0]}\n{"id": 2, "features": [4.0, 5.0, 6.0]}\n');
    const out = path.join(dir, 'lab-out');
    // No REDIS_URL: the CLI starts and stops its own redis-server.
    const result = await runCli(['run', dataset, '--output', out, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.status).toBe('completed');
    const output = await readBatchOutput(out, summary.id);
    expect(output.predictions.sort((a, b) => Number(a.id) - Number(b.id))).toEqual([
      { id: 1, prediction: 6 },
      { id: 2, prediction: 15 },
    ]);
    expect(output.manifest?.avg_prediction).toBe(10.5);
    expect(output.manifest?.total_records).toBe(2);
    expect(output.manifest?.total_cost_usd).toBeGreaterThan(0);
    expect(output.manifest?.cost_per_record_usd).toBeGreaterThan(0);
    expect(output.manifest?.total_latency_ms).toBeGreaterThanOrEqual(0);
    expect(summary.total_cost_usd).toBe(output.manifest?.total_cost_usd);
    // --json: stdout is exactly one JSON object.
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('completes a batch with malformed lines across chunks: every good record once, every bad line reported, exit 0', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'mixed.jsonl'), 5000, {
      bad: (line) => line % 173 === 0 || line === 1,
      blankEvery: 1111,
    });
    const out = path.join(dir, 'mixed-out');
    const result = await runCli(['run', data.path, '--output', out, '--chunk-size', '400', '--consumers', '2', '--json'], {
      env: { REDIS_URL: redis.url },
    });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.status).toBe('completed');
    expect(summary.chunks.total).toBe(13);
    expect(summary.chunkSize).toBe(400);
    const output = await readBatchOutput(out, summary.id);
    // Bad lines land in several different chunks' error files.
    expect(output.files.filter((f) => f.startsWith('errors-')).length).toBeGreaterThan(5);
    expectEveryRecordOnce(output, data.expected, data.badLines);
    expect(summary.records.total).toBe(data.records);
    expect(output.errors.find((e) => e.line === 173)?.error).toBeTruthy();
  });

  it('picks the chunk size from the dataset when none is given: about 4 splits per consumer slot', async () => {
    // 2 consumers × CONSUMER_CONCURRENCY 2 = 4 slots: 16 splits of about 2500 records.
    const data = await writeJsonlDataset(path.join(dir, 'sized.jsonl'), 40_000, { bad: (line) => line % 997 === 0 });
    const out = path.join(dir, 'sized-out');
    const result = await runCli(['run', data.path, '--output', out, '--consumers', '2', '--json'], {
      env: { REDIS_URL: redis.url, CONSUMER_CONCURRENCY: '2' },
    });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.chunkSize).toBeGreaterThan(2000);
    expect(summary.chunkSize).toBeLessThan(3000);
    expect(summary.chunks.total).toBeGreaterThanOrEqual(15);
    expect(summary.chunks.total).toBeLessThanOrEqual(17);
    expectEveryRecordOnce(await readBatchOutput(out, summary.id), data.expected, data.badLines);
  });

  it('reads CSV with a header, gzip-compressed, reporting bad rows by line', async () => {
    const { gzipSync } = await import('node:zlib');
    const csv = 'f1,id,f2\n1,a,2\n3,b,x\n"4",c,"5"\n';
    const dataset = path.join(dir, 'small.csv.gz');
    await writeFile(dataset, gzipSync(csv));
    const out = path.join(dir, 'csv-out');
    const result = await runCli(['run', dataset, '--output', out, '--json'], { env: { REDIS_URL: redis.url } });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    const output = await readBatchOutput(out, summary.id);
    expect(output.predictions.sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual([
      { id: 'a', prediction: 3 },
      { id: 'c', prediction: 9 },
    ]);
    expect(output.errors).toEqual([{ line: 3, id: 'b', code: 'NOT_A_NUMBER', error: "column 'f2' is not a number" }]);
  });

  it('exits non-zero with the reason when the batch fails (model file missing)', async () => {
    const dataset = path.join(dir, 'lab2.jsonl');
    await writeFile(dataset, '{"id": 1, "features": [1]}\n');
    const result = await runCli(['run', dataset, '--model', 'linear:absent.json', '--output', path.join(dir, 'fail-out'), '--json'], {
      env: { REDIS_URL: redis.url, MODEL_ROOT: dir },
    });
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as Summary & { error: string };
    expect(summary.status).toBe('failed');
    expect(summary.error).toContain('chunk(s) failed');
    const output = await readBatchOutput(path.join(dir, 'fail-out'), summary.id);
    expect(output.errors).toHaveLength(1);
    expect(output.errors[0]?.error).toContain('cannot read linear model');
  });

  it('says in one line how to get Redis when there is none', async () => {
    const dataset = path.join(dir, 'lab.jsonl');
    // A PATH with no redis-server on it (the CLI itself runs from process.execPath).
    const emptyBin = await mkdtemp(path.join(os.tmpdir(), 'bi-nobin-'));
    const result = await runCli(['run', dataset, '--json'], { env: { PATH: emptyBin } });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/REDIS_URL.*redis-server/);
  });

  it('treats a blank OUTPUT_URL and LOG_LEVEL as unset: writes to ./output, logs warnings only', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'bi-run-cwd-'));
    const dataset = path.join(cwd, 'two.jsonl');
    await writeFile(dataset, '{"id": 1, "features": [1]}\n{"id": 2, "features": [2]}\n');
    const result = await runCli(['run', dataset, '--json'], { cwd, env: { REDIS_URL: redis.url, OUTPUT_URL: ' ', LOG_LEVEL: ' ' } });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.output).toBe(path.join(cwd, 'output', summary.id));
    expect((await readBatchOutput(path.join(cwd, 'output'), summary.id)).predictions).toHaveLength(2);
    // pino's info is level 30: neither the run nor its consumers log at info.
    const levels = result.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { level: number }).level);
    expect(levels.filter((level) => level < 40)).toEqual([]);
  });

  it('fails fast on a malformed environment variable, naming it', async () => {
    const result = await runCli(['run', path.join(dir, 'lab.jsonl')], { env: { CHUNK_SIZE: 'many' } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^batchinfer run: invalid configuration: CHUNK_SIZE: /);
  });

  it('refuses a dataset that does not exist before starting anything: exit 2, one line naming it, no batch', async () => {
    const result = await runCli(['run', path.join(dir, 'nope.jsonl'), '--output', path.join(dir, 'nope-out'), '--json'], {
      env: { REDIS_URL: redis.url },
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^batchinfer run: dataset .*nope\.jsonl: no such file or folder/),
    ]);
    await expect(readFile(path.join(dir, 'nope-out'))).rejects.toThrow();
  });
});
