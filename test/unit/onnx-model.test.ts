/**
 * ONNX models in the layouts converters export, on the real onnxruntime-node. skl2onnx,
 * onnxmltools and torch.onnx are Python tools that cannot be installed here, so the graphs
 * are rebuilt node for node with onnx-proto (graph-builder.ts); each test says which layout.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { SubBatchScorer } from '../../src/consumer/sub-batch-scorer.js';
import type { Model } from '../../src/shared/models/model.js';
import { linearClassifierModel, linearRegressorModel, logModel, mlpClassifierModel } from '../../src/shared/models/onnx/graph-builder.js';
import { loadModel, parseModelRef } from '../../src/shared/models/registry.js';

const COEFFICIENTS = [
  [0.8, -1.2, 0.3],
  [-0.5, 0.9, 0.1],
  [0.2, 0.4, -0.7],
];
const INTERCEPTS = [0.1, -0.2, 0.05];
const MLP = {
  w1: [
    [0.5, -0.3, 0.8, 0.1],
    [-0.6, 0.2, 0.4, 0.9],
    [0.3, 0.7, -0.5, -0.2],
  ],
  b1: [0.1, 0, -0.1, 0.2],
  w2: [
    [0.4, -0.8],
    [0.9, 0.1],
    [-0.3, 0.6],
    [0.2, -0.5],
  ],
  b2: [0.05, -0.05],
};
const ROWS = Array.from({ length: 37 }, (_, i) => [Math.sin(i), Math.cos(i * 0.7) * 2, (i % 5) - 2]);

let dir: string;
const files: Record<string, Uint8Array> = {
  'skl2onnx-zipmap.onnx': linearClassifierModel({
    coefficients: COEFFICIENTS,
    intercepts: INTERCEPTS,
    classLabels: ['setosa', 'versicolor', 'virginica'],
    zipMap: true,
  }),
  'skl2onnx-nozipmap.onnx': linearClassifierModel({
    coefficients: COEFFICIENTS,
    intercepts: INTERCEPTS,
    classLabels: ['setosa', 'versicolor', 'virginica'],
    zipMap: false,
  }),
  'onnxmltools-int-labels.onnx': linearClassifierModel({
    coefficients: COEFFICIENTS,
    intercepts: INTERCEPTS,
    classLabels: [3, 5, 9],
    zipMap: false,
  }),
  'torch-mlp.onnx': mlpClassifierModel(MLP),
  'regressor.onnx': linearRegressorModel({ coefficients: [[1, 2, 3]], intercepts: [0.5] }),
  'multi-regressor.onnx': linearRegressorModel({
    coefficients: [
      [1, 0, 0],
      [0, 1, 0],
    ],
    intercepts: [0, 0],
  }),
  'log.onnx': logModel(3),
  'corrupt.onnx': new TextEncoder().encode('this is not a protobuf at all, just text'),
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-onnx-'));
  for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(dir, name), bytes);
});

const load = (ref: string): Promise<Model> => loadModel(parseModelRef(ref, { modelRoot: dir }));

/** What onnxruntime gives when called directly on a model without ZipMap: labels and probabilities. */
async function direct(bytes: Uint8Array, rows: number[][]): Promise<{ labels: unknown[]; probabilities: number[][] }> {
  const session = await ort.InferenceSession.create(bytes);
  const input = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]?.length ?? 0]);
  const out = await session.run({ [session.inputNames[0] as string]: input }, ['label', 'probabilities']);
  const labels = Array.from(out.label?.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v));
  const flat = Array.from(out.probabilities?.data as Float32Array);
  const k = flat.length / rows.length;
  return { labels, probabilities: rows.map((_, i) => flat.slice(i * k, (i + 1) * k)) };
}

function expectClose(actual: number[][] | undefined, expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  actual?.forEach((row, i) => row.forEach((p, j) => expect(Math.abs(p - (expected[i]?.[j] ?? NaN))).toBeLessThan(1e-5)));
}

describe('onnx models in converter layouts (graphs rebuilt with onnx-proto: skl2onnx/onnxmltools/torch are not installable here)', () => {
  it.each([
    ['skl2onnx LinearClassifier + Normalizer + ZipMap', 'skl2onnx-zipmap.onnx', 'skl2onnx-nozipmap.onnx'],
    ['skl2onnx LinearClassifier without ZipMap', 'skl2onnx-nozipmap.onnx', 'skl2onnx-nozipmap.onnx'],
    ['onnxmltools LinearClassifier with integer labels', 'onnxmltools-int-labels.onnx', 'onnxmltools-int-labels.onnx'],
    ['torch.onnx MLP with Softmax and ArgMax', 'torch-mlp.onnx', 'torch-mlp.onnx'],
  ])('%s: same labels and probabilities (1e-5) as onnxruntime called directly', async (_layout, file, reference) => {
    const model = await load(`onnx:${file}`);
    const expected = await direct(files[reference] as Uint8Array, ROWS);
    const scores = await model.score?.(ROWS);
    expect(scores?.predictions).toEqual(expected.labels);
    expectClose(scores?.probabilities, expected.probabilities);
    expect(model.inputSize).toBe(3);
    expect(model.info).toMatchObject({ type: 'classifier', input: { features: 3 } });
  });

  it('names the class labels in class order: strings, integers, or torch class indices', async () => {
    expect((await load('onnx:skl2onnx-zipmap.onnx')).info?.classLabels).toEqual(['setosa', 'versicolor', 'virginica']);
    expect((await load('onnx:onnxmltools-int-labels.onnx')).info?.classLabels).toEqual([3, 5, 9]);
    expect((await load('onnx:torch-mlp.onnx')).info?.classLabels).toEqual([0, 1]);
  });

  it('a regressor predicts a number per record, a multi-output one an array', async () => {
    expect(
      await (
        await load('onnx:regressor.onnx')
      ).predict([
        [1, 1, 1],
        [0, 0, 2],
      ]),
    ).toEqual([6.5, 6.5]);
    expect(await (await load('onnx:multi-regressor.onnx')).predict([[1, 2, 3]])).toEqual([[1, 2]]);
    expect((await load('onnx:regressor.onnx')).info).toMatchObject({ type: 'regressor' });
  });

  it('refuses a corrupt file as MODEL_INVALID and a missing one as MODEL_NOT_FOUND, naming the model', async () => {
    const corrupt = await load('onnx:corrupt.onnx').then(
      () => new Error('loaded'),
      (err: unknown) => err as Error,
    );
    expect(corrupt).toMatchObject({ code: 'MODEL_INVALID' });
    expect(corrupt.message).toContain('onnx:corrupt.onnx');
    const missing = await load('onnx:missing.onnx').then(
      () => new Error('loaded'),
      (err: unknown) => err as Error,
    );
    expect(missing).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(missing.message).toContain('onnx:missing.onnx');
  });

  it('checks a pinned digest before scoring anything', async () => {
    const sha = createHash('sha256')
      .update(files['regressor.onnx'] as Uint8Array)
      .digest('hex');
    await expect(load(`onnx:regressor.onnx?sha256=${sha}`)).resolves.toMatchObject({ info: { sha256: sha } });
    await expect(load(`onnx:regressor.onnx?sha256=${'0'.repeat(64)}`)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    // MODEL_SHA256 pins the deployment's MODEL.
    const pinned = parseModelRef('onnx:regressor.onnx', { modelRoot: dir, pin: { model: 'onnx:regressor.onnx', sha256: 'f'.repeat(64) } });
    await expect(loadModel(pinned)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('refuses references outside MODEL_ROOT, bad pins and other URL schemes at parse (no I/O)', () => {
    for (const bad of [
      'onnx',
      'onnx:../x.onnx',
      'onnx:/etc/passwd',
      'onnx:x.onnx?sha256=zz',
      'onnx:ftp://h/x.onnx',
      'onnx:https://u:p@h/x.onnx',
    ]) {
      expect(() => parseModelRef(bad, { modelRoot: dir }), bad).toThrow(expect.objectContaining({ code: 'MODEL_INVALID' }));
    }
  });
});

describe('sub-batch scoring', () => {
  it('makes NaN and infinite predictions record errors (NON_FINITE_PREDICTION) and scores the rest', async () => {
    const model = await load('onnx:log.onnx');
    const rows = [
      [1, 0, 0],
      [-1, 0, 0],
      [0, 0, 0],
      [Math.E, 0, 0],
      [1e308, 0, 0],
    ];
    const { predictions, errors } = await new SubBatchScorer(2).score(model, rows);
    expect(predictions.map((p, i) => errors.get(i)?.code ?? p)).toEqual([
      0,
      'NON_FINITE_PREDICTION',
      'NON_FINITE_PREDICTION',
      expect.closeTo(1, 5),
      // 1e308 overflows float32 to Infinity, whose log is Infinity.
      'NON_FINITE_PREDICTION',
    ]);
  });

  it('isolates the records that make the model throw (bisecting the sub-batch) and scores the others', async () => {
    let calls = 0;
    const model: Model = {
      name: 'picky',
      predict(features) {
        calls++;
        if (features.some((row) => row[0] === 13)) throw new Error('cannot take 13');
        return features.map((row) => row[0] ?? 0);
      },
    };
    const rows = Array.from({ length: 64 }, (_, i) => [i]);
    const report = await new SubBatchScorer().score(model, rows);
    expect(report.subBatchSize).toBe(64);
    expect([...report.errors].map(([i, e]) => [i, e.code])).toEqual([[13, 'PREDICTION_FAILED']]);
    expect(report.predictions).toHaveLength(64);
    expect(report.predictions.filter((_, i) => !report.errors.has(i))).toEqual(rows.map((r) => r[0]).filter((x) => x !== 13));
    // One call for the sub-batch, then one pair per halving: log2(64) = 6 levels.
    expect(calls).toBe(1 + 2 * 6);
  });

  it('lets errors about the whole model through (a retryable outage fails the attempt, not its records)', async () => {
    const outage = Object.assign(new Error('503'), { retryable: true });
    const model: Model = { name: 'down', predict: () => Promise.reject(outage) };
    await expect(new SubBatchScorer().score(model, [[1], [2]])).rejects.toBe(outage);
  });

  it('calls no model for a chunk without a valid record', async () => {
    let calls = 0;
    const model: Model = { name: 'count', predict: (features) => (calls++, features.map(() => 1)) };
    const report = await new SubBatchScorer().score(model, []);
    expect(calls).toBe(0);
    expect(report).toMatchObject({ predictions: [], calls: 0 });
  });

  it('splits a chunk into MODEL_BATCH_SIZE sub-batches', async () => {
    const sizes: number[] = [];
    const model: Model = { name: 'count', predict: (features) => (sizes.push(features.length), features.map(() => 1)) };
    await new SubBatchScorer(64).score(
      model,
      Array.from({ length: 150 }, () => [1]),
    );
    expect(sizes).toEqual([64, 64, 22]);
    sizes.length = 0;
    await new SubBatchScorer().score(
      model,
      Array.from({ length: 2000 }, () => [1]),
    );
    expect(sizes).toEqual([1024, 976]);
  });
});
