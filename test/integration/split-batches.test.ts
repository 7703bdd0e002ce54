/**
 * Batches read as splits: the producer queues byte ranges (no records in Redis), consumers
 * read them, and the outputs are those of the streaming path: every record exactly once,
 * error lines absolute in their file. Real producer and consumer processes, real files.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkEventJson } from '../../src/shared/events/chunk-event.js';
import { submitBatch, waitForBatch, waitForEnd } from '../helpers/batches.js';
import { runCli, startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { connect, freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

let dir: string;
let redis: LocalRedis;
const services: RunningService[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-splits-'));
  redis = await startTestRedis();
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await redis?.stop();
});

interface Summary {
  id: string;
  status: string;
  error?: string;
  records: { succeeded: number; failed: number; total: number };
  chunks: { total: number; failed: number };
}

async function run(dataset: string, out: string, args: string[] = []): Promise<Summary> {
  const result = await runCli(['run', dataset, '--output', out, '--consumers', '2', '--json', ...args], { env: { REDIS_URL: redis.url } });
  expect(result.stdout, result.stderr).not.toBe('');
  return JSON.parse(result.stdout) as Summary;
}

describe('split batches', () => {
  it('queue byte ranges, not records, and consumers drain them: every record once, error lines absolute', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'big.jsonl'), 20_000, {
      bad: (line) => line % 997 === 0 || line === 1,
      blankEvery: 1234,
    });
    const output = path.join(dir, 'out');
    const prefix = freshPrefix('splits');
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      OUTPUT_URL: pathToFileURL(output).toString(),
      DATASET_ALLOWED_SCHEMES: 'file',
    };
    const producer = await startService('producer', env);
    services.push(producer);
    const id = await submitBatch(producer.url, { datasetUrl: pathToFileURL(data.path).toString(), chunkSize: 500 });
    const planned = await waitForBatch(
      () => producer.url,
      id,
      (v) => v.status === 'running',
      'planning to finish',
    );
    expect(planned.chunks.total).toBeGreaterThanOrEqual(38);
    expect(planned.chunks.total).toBeLessThanOrEqual(42);

    // What Redis holds per chunk: a descriptor of a few hundred bytes, no record.
    const client = connect(redis.url);
    const jobKeys = (await client.keys(`${prefix}:chunks:*`)).filter((k) => /:chunks:[^:]+-\d+$/.test(k));
    expect(jobKeys.length).toBe(planned.chunks.total);
    for (const key of jobKeys) {
      const raw = (await client.hget(key, 'data')) ?? '';
      expect(raw.length).toBeLessThan(600);
      const event = JSON.parse(raw) as ChunkEventJson;
      // The contract's split (DESIGN.md): which bytes of which version; the rest is the batch's plan.
      expect(Object.keys(event.data).sort()).toEqual(['batchId', 'chunkIndex', 'end', 'source', 'start', 'version']);
      expect(event.data).toMatchObject({ batchId: id, source: pathToFileURL(data.path).toString() });
    }
    await client.quit();

    services.push(await startService('consumer', env), await startService('consumer', env));
    const done = await waitForEnd(() => producer.url, id);
    expect(done.status).toBe('completed');
    const out = await readBatchOutput(output, id);
    expectEveryRecordOnce(out, data.expected, data.badLines, { view: done });
  });

  it('reads CSV in ranges with the header read once: blank lines, CRLF and bad rows keep their lines', async () => {
    const rows = ['', 'id,f1,f2'];
    const expected = new Map<string, number>();
    const bad: number[] = [];
    for (let i = 1; i <= 3000; i++) {
      if (i % 500 === 0) rows.push('');
      else if (i % 301 === 0) {
        rows.push(`c${i},x,1`);
        bad.push(rows.length);
      } else {
        rows.push(`c${i},${i % 7},"${i % 5}"`);
        expected.set(`c${i}`, (i % 7) + (i % 5));
      }
    }
    const dataset = path.join(dir, 'rows.csv');
    await writeFile(dataset, rows.join('\r\n') + '\r\n');
    const summary = await run(dataset, path.join(dir, 'csv-out'), ['--chunk-size', '100']);
    expect(summary.status).toBe('completed');
    expect(summary.chunks.total).toBeGreaterThan(20);
    const out = await readBatchOutput(path.join(dir, 'csv-out'), summary.id);
    expectEveryRecordOnce(out, expected, bad);
    expect(out.errors.find((e) => e.line === bad[0])).toMatchObject({ id: 'c301', code: 'NOT_A_NUMBER' });
  });

  it('streams a CSV whose sample shows a quoted field spanning lines, and reads it right', async () => {
    const dataset = path.join(dir, 'multiline.csv');
    await writeFile(dataset, 'id,f1,note\na,1,"two\nlines"\nb,2,plain\n');
    const summary = await run(dataset, path.join(dir, 'ml-out'), ['--chunk-size', '1']);
    expect(summary.status).toBe('completed');
    const out = await readBatchOutput(path.join(dir, 'ml-out'), summary.id);
    // Read as rows, not lines: b's row starts on line 4 (a's spans lines 2 and 3).
    expect(out.errors.map((e) => [e.id, e.line])).toEqual([
      ['a', 2],
      ['b', 4],
    ]);
  });

  it('fails the split holding a quoted field that spans lines past the sample, clearly, and loses no record', async () => {
    const rows = ['id,f1'];
    for (let i = 1; i <= 40_000; i++) rows.push(`r${i},${i % 3}`);
    rows.push('late,"1', '"', 'last,2');
    const dataset = path.join(dir, 'late-multiline.csv');
    await writeFile(dataset, rows.join('\n') + '\n');
    const summary = await run(dataset, path.join(dir, 'late-out'), ['--chunk-size', '5000']);
    expect(summary.status).toBe('failed');
    expect(summary.chunks.failed).toBe(1);
    const out = await readBatchOutput(path.join(dir, 'late-out'), summary.id);
    const failed = out.errors.filter((e) => e.error.includes('DATASET_CSV_MULTILINE') || e.error.includes('quoted field'));
    expect(failed.length).toBeGreaterThan(0);
    // Every data row is predicted or in an error file, once.
    const seen = out.predictions.length + out.errors.length;
    expect(seen).toBe(40_000 + 4 - 1);
    expect(out.errors.find((e) => e.id === 'last')?.line).toBe(40_004);
  });

  it('plans a folder of files as one batch: error lines name their file and line', async () => {
    const folder = path.join(dir, 'parts');
    await mkdir(path.join(folder, 'sub'), { recursive: true });
    const a = await writeJsonlDataset(path.join(folder, 'a.jsonl'), 900, { bad: (l) => l === 5 });
    const b = await writeJsonlDataset(path.join(folder, 'sub', 'b.jsonl'), 700, { bad: (l) => l === 600 || l === 1 });
    const summary = await run(folder, path.join(dir, 'folder-out'), ['--chunk-size', '100']);
    expect(summary.status).toBe('completed');
    expect(summary.records.total).toBe(a.records + b.records);
    const out = await readBatchOutput(path.join(dir, 'folder-out'), summary.id);
    const errors = out.errors as { file?: string; line: number }[];
    expect(errors.map((e) => [path.basename(e.file ?? ''), e.line]).sort()).toEqual([
      ['a.jsonl', 5],
      ['b.jsonl', 1],
      ['b.jsonl', 600],
    ]);
    expect(out.predictions.length).toBe(a.expected.size + b.expected.size);
    const manifest = JSON.parse(await readFile(path.join(out.dir, 'manifest.json'), 'utf8')) as { total_records: number };
    expect(manifest.total_records).toBe(a.records + b.records);
  });

  it('holds a split dataset to MAX_RECORDS_PER_BATCH: at the limit it completes, past it the batch fails with the reason', async () => {
    const env = { REDIS_URL: redis.url, MAX_RECORDS_PER_BATCH: '20' };
    const at = await writeJsonlDataset(path.join(dir, 'twenty.jsonl'), 20);
    const past = await writeJsonlDataset(path.join(dir, 'twenty-one.jsonl'), 21);
    const ok = await runCli(['run', at.path, '--output', path.join(dir, 'limit-out'), '--chunk-size', '5', '--json'], { env });
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'completed', records: { succeeded: 20 } });
    const refused = await runCli(['run', past.path, '--output', path.join(dir, 'limit-out'), '--chunk-size', '5', '--json'], { env });
    expect(refused.code).toBe(1);
    const summary = JSON.parse(refused.stdout) as Summary;
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/DATASET_TOO_MANY_RECORDS.*about 21 records/);
  });
});
