/**
 * `batchinfer run` with ONNX models, end to end: the real CLI, redis-server, consumer
 * processes and onnxruntime. The Iris example as a user would run it, and the failures a
 * user meets (corrupt model, wrong feature count, missing column, huge features), each with
 * its error code and no record lost.
 */
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { irisModel, IRIS_DIR } from '../../examples/iris/train-iris.js';
import { linearRegressorModel } from '../../src/shared/models/onnx/graph-builder.js';
import { runCli } from '../helpers/cli.js';
import { readBatchOutput } from '../helpers/output.js';
import { startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

let dir: string;
let redis: LocalRedis;
const IRIS_FEATURES = 'sepal_length,sepal_width,petal_length,petal_width';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-onnx-run-'));
  redis = await startTestRedis();
  await writeFile(path.join(dir, 'corrupt.onnx'), 'not an onnx file');
  await writeFile(path.join(dir, 'reg3.onnx'), linearRegressorModel({ coefficients: [[1, 1, 1]], intercepts: [0] }));
  await writeFile(path.join(dir, 'reg2.onnx'), linearRegressorModel({ coefficients: [[1, 1]], intercepts: [0] }));
});
afterAll(async () => {
  await redis?.stop();
});

interface Summary {
  id: string;
  status: string;
  records: { succeeded: number; failed: number; total: number };
  error?: string;
}

const run = (args: string[]) =>
  runCli(['run', ...args, '--json', '--consumers', '1'], { env: { REDIS_URL: redis.url }, timeoutMs: 120_000 });

describe('the Iris example', () => {
  it('the checked-in model is what examples/iris/train-iris.ts writes', async () => {
    const csv = await readFile(path.join(IRIS_DIR, 'iris.csv'), 'utf8');
    const checkedIn = await readFile(path.join(IRIS_DIR, 'iris.onnx'));
    expect(Buffer.from(irisModel(csv)).equals(checkedIn)).toBe(true);
  });

  it('batchinfer run scores it with named columns (one chunk: the model info reaches the manifest its own chunk writes): accuracy >= 0.95, probabilities and input.species on every line', async () => {
    const out = path.join(dir, 'iris-out');
    const result = await run([
      'examples/iris/iris.csv',
      '--model',
      'onnx:iris.onnx',
      '--model-root',
      'examples/iris',
      '--features',
      IRIS_FEATURES,
      '--id-field',
      'id',
      '--keep',
      'species',
      '--output',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.records).toMatchObject({ succeeded: 150, failed: 0 });
    const output = await readBatchOutput(out, summary.id);
    const lines = output.predictions as { id: string; prediction: string; probabilities: number[]; input: { species: string } }[];
    expect(lines).toHaveLength(150);
    for (const line of lines) {
      expect(typeof line.prediction).toBe('string');
      expect(line.probabilities).toHaveLength(3);
      expect(line.probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
      expect(line.input.species).toMatch(/^Iris-/);
    }
    // CSV ids are strings (documented): every row once.
    expect(new Set(lines.map((l) => l.id)).size).toBe(150);
    const accuracy = lines.filter((l) => l.prediction === l.input.species).length / lines.length;
    expect(accuracy).toBeGreaterThanOrEqual(0.95);
    const info = output.manifest?.modelInfo;
    expect(info).toMatchObject({ type: 'classifier', classLabels: ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'] });
    expect(info?.sha256).toMatch(/^[0-9a-f]{64}$/);
    console.log(`iris accuracy from the output parts: ${accuracy.toFixed(4)}`);
  });
});

describe('ONNX failures a user meets, each with its code and no record lost', () => {
  async function jsonl(name: string, rows: number): Promise<string> {
    const file = path.join(dir, name);
    const lines = Array.from({ length: rows }, (_, i) => JSON.stringify({ id: i + 1, a: i, b: 1, c: 2 }));
    await writeFile(file, lines.join('\n') + '\n');
    return file;
  }

  /** Every id 1..n appears once across parts and error files. */
  async function expectAllAccounted(out: string, id: string, n: number): Promise<{ errors: { code?: string; error: string }[] }> {
    const output = await readBatchOutput(out, id);
    const ids = [...output.predictions.map((p) => p.id), ...output.errors.map((e) => e.id)];
    expect(ids.sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    return { errors: output.errors };
  }

  it.each([
    ['a corrupt model', 'onnx:corrupt.onnx', 'a,b,c', 'MODEL_INVALID'],
    ['a model taking another feature count', 'onnx:reg2.onnx', 'a,b,c', 'MODEL_INPUT_MISMATCH'],
    ['a model that does not exist', 'onnx:nope.onnx', 'a,b,c', 'MODEL_NOT_FOUND'],
  ])('%s fails the batch fast with its code; every record is in an error file', async (_what, model, features, code) => {
    const data = await jsonl(`${code}.jsonl`, 300);
    const out = path.join(dir, `${code}-out`);
    const result = await run([data, '--model', model, '--model-root', dir, '--features', features, '--chunk-size', '50', '--output', out]);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.status).toBe('failed');
    expect(summary.error).toContain(code);
    expect(summary.records).toMatchObject({ succeeded: 0, failed: 300 });
    const { errors } = await expectAllAccounted(out, summary.id, 300);
    expect(errors.every((e) => e.code === 'CHUNK_FAILED' && e.error.includes(model.slice(5)))).toBe(true);
  });

  it('a feature column missing from the CSV header is a usage error naming it (exit 2)', async () => {
    const result = await run([
      'examples/iris/iris.csv',
      '--model',
      'onnx:iris.onnx',
      '--model-root',
      'examples/iris',
      '--features',
      'sepal_length,petal_size',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("'petal_size'");
  });

  it('features of 1e308 and a record missing a feature are record errors; the other records are scored', async () => {
    const file = path.join(dir, 'huge.jsonl');
    const rows = Array.from({ length: 1000 }, (_, i) =>
      i === 10 ? { id: i + 1, a: 1e308, b: 1, c: 1 } : i === 20 ? { id: i + 1, a: 1, c: 1 } : { id: i + 1, a: i, b: 1, c: 2 },
    );
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = path.join(dir, 'huge-out');
    const result = await run([
      file,
      '--model',
      'onnx:reg3.onnx',
      '--model-root',
      dir,
      '--features',
      'a,b,c',
      '--chunk-size',
      '1000',
      '--output',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.records).toMatchObject({ succeeded: 998, failed: 2 });
    const { errors } = await expectAllAccounted(out, summary.id, 1000);
    expect(errors.map((e) => e.code).sort()).toEqual(['MISSING_FEATURE', 'NON_FINITE_PREDICTION']);
    expect(errors.find((e) => e.code === 'MISSING_FEATURE')?.error).toContain("'b'");
  });
});
