// The record pipeline parses, scores and serialises a chunk one model batch at a time; these
// check that the part and the error file come out as if the chunk had been done whole:
// every line once, predictions in line order, errors of every kind in line order.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordPipeline } from '../../src/consumer/record-pipeline.js';
import { openBatchSink } from '../../src/shared/io/sinks/registry.js';
import type { Model } from '../../src/shared/models/model.js';
import type { ChunkData } from '../../src/shared/types.js';

const jsonLines = async <T>(file: string): Promise<T[]> =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as T);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'record-pipeline-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Sums 3 features; throws on a batch holding a record whose first feature is -1 (bisected to that record). */
const picky: Model = {
  name: 'picky',
  inputSize: 3,
  predict(rows) {
    if (rows.some((r) => r[0] === -1)) throw new Error('unlucky');
    return rows.map((r) => r.reduce((a, b) => a + b, 0));
  },
};

/** Line n (1-based): blank, broken JSON, 2 features, an unlucky record, or a good one. */
function line(n: number): string {
  if (n % 50 === 0) return '';
  if (n % 37 === 0) return '{"id": ';
  if (n % 41 === 0) return JSON.stringify({ id: n, features: [1, 2] });
  if (n % 43 === 0) return JSON.stringify({ id: n, features: [-1, 0, 0] });
  return JSON.stringify({ id: n, features: [n, 1, 1] });
}

describe('RecordPipeline, one model batch at a time', () => {
  it.each([1, 7, 64, undefined])('MODEL_BATCH_SIZE %s: the same part and error file as the chunk whole', async (batchSize) => {
    const count = 2500;
    const records = Array.from({ length: count }, (_, i) => line(i + 1));
    const outputUrl = pathToFileURL(path.join(dir, `out-${batchSize}`)).toString();
    const batchId = `b${batchSize ?? 'default'}`;
    const chunk: ChunkData = { batchId, chunkIndex: 0, firstLine: 1, records, format: 'jsonl', model: 'picky', outputUrl };
    const sink = openBatchSink(outputUrl, batchId, outputUrl);
    const scored = await new RecordPipeline({ modelBatchSize: batchSize }).score(chunk, picky, sink);

    const folder = path.join(dir, `out-${batchSize}`, batchId);
    const predicted = await jsonLines<{ id: number; prediction: number }>(path.join(folder, 'part-00000.jsonl'));
    const errors = await jsonLines<{ line: number; code: string }>(path.join(folder, 'errors-00000.jsonl'));
    const expected = { predicted: [] as number[], errors: [] as [number, string][] };
    for (let n = 1; n <= count; n++) {
      if (n % 50 === 0) continue;
      if (n % 37 === 0) expected.errors.push([n, 'INVALID_JSON']);
      else if (n % 41 === 0) expected.errors.push([n, 'FEATURE_COUNT_MISMATCH']);
      else if (n % 43 === 0) expected.errors.push([n, 'PREDICTION_FAILED']);
      else expected.predicted.push(n);
    }
    expect(predicted.map((p) => p.id)).toEqual(expected.predicted);
    expect(predicted.every((p) => p.prediction === p.id + 2)).toBe(true);
    expect(errors.map((e) => [e.line, e.code])).toEqual(expected.errors);
    expect(scored.succeeded).toBe(expected.predicted.length);
    expect(scored.failed).toBe(expected.errors.length);
    expect(scored.predictionCount).toBe(expected.predicted.length);
  });
});
