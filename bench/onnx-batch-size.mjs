// Issue 9/12: ONNX scoring throughput by MODEL_BATCH_SIZE, against a raw onnxruntime loop on
// the same model, data and batch size in the same run, one inference thread (records/s per
// core). Ours = the consumer's SubBatchScorer over the loaded `onnx:` model: float32 tensor
// per sub-batch, layout decoding, the non-finite check, per-record results. Raw = build the
// tensor from the same rows and session.run in a loop, nothing else. Then the cold start a
// consumer pays for ONNX: a fresh Node process importing the consumer and scoring its first
// record with `sum` vs with the ONNX model (median of RUNS, alternating).
// Usage: npm run build && node bench/onnx-batch-size.mjs [records=20000] [runs=5]
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';
import { ROOT, machine } from './lib.mjs';

const records = Number(process.argv[2] ?? 20000);
const runs = Number(process.argv[3] ?? 5);
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).toString());
const { mlpClassifierModel } = await dist('shared/models/onnx/graph-builder.js');
const { loadModel, parseModelRef } = await dist('shared/models/registry.js');
const { SubBatchScorer } = await dist('consumer/sub-batch-scorer.js');

// A torch-layout MLP, 16 features → 64 hidden → 3 classes, with seeded weights.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const D = 16;
const H = 64;
const C = 3;
const matrix = (r, c) => Array.from({ length: r }, () => Array.from({ length: c }, rand));
const bytes = mlpClassifierModel({ w1: matrix(D, H), b1: matrix(1, H)[0], w2: matrix(H, C), b2: matrix(1, C)[0] });
const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-onnx-bench-'));
await writeFile(path.join(dir, 'mlp.onnx'), bytes);
const rows = matrix(records, D);

const context = { modelRoot: dir, runtime: { cacheDir: dir, allowPrivateNetworks: false, allowedCidrs: [], intraOpThreads: 1 } };
const model = await loadModel(parseModelRef('onnx:mlp.onnx', context));
const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });

async function ours(batchSize) {
  const t0 = performance.now();
  const report = await new SubBatchScorer(batchSize).score(model, rows);
  if (report.outcomes.length !== records) throw new Error('lost records');
  return records / ((performance.now() - t0) / 1000);
}

async function raw(batchSize) {
  const t0 = performance.now();
  for (let start = 0; start < records; start += batchSize) {
    const slice = rows.slice(start, start + batchSize);
    const data = new Float32Array(slice.length * D);
    slice.forEach((row, i) => data.set(row, i * D));
    await session.run({ input: new ort.Tensor('float32', data, [slice.length, D]) }, ['label', 'probabilities']);
  }
  return records / ((performance.now() - t0) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${machine()}; ${records} records, MLP ${D}-${H}-${C}, 1 inference thread, median of ${runs} alternating runs`);
console.log('| MODEL_BATCH_SIZE | ours (records/s) | raw onnxruntime loop (records/s) | ours / raw |');
console.log('|---:|---:|---:|---:|');
for (const size of [1, 64, 1024]) {
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    b.push(await raw(size));
    a.push(await ours(size));
  }
  const [mo, mr] = [median(a), median(b)];
  console.log(`| ${size} | ${Math.round(mo)} | ${Math.round(mr)} | ${(mo / mr).toFixed(2)} |`);
}

// Cold start: import the consumer, load the model, score one record, in a fresh process.
const coldScript = (ref) => `
const t0 = performance.now();
await import(${JSON.stringify(path.join(ROOT, 'dist', 'consumer', 'consumer-service.js'))});
const { loadModel, parseModelRef } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'shared', 'models', 'registry.js'))});
const model = await loadModel(parseModelRef(${JSON.stringify(ref)}, { modelRoot: ${JSON.stringify(dir)} }));
await model.predict([new Array(${D}).fill(1)]);
console.log(performance.now() - t0);
`;
const cold = { sum: [], onnx: [] };
for (let i = 0; i < runs; i++) {
  for (const [name, ref] of [
    ['sum', 'sum'],
    ['onnx', 'onnx:mlp.onnx'],
  ]) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', coldScript(ref)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    cold[name].push(Number(r.stdout.trim()));
  }
}
console.log(
  `cold start (import consumer + load model + first prediction), median ms: sum ${median(cold.sum).toFixed(0)}, ` +
    `onnx ${median(cold.onnx).toFixed(0)} (+${(median(cold.onnx) - median(cold.sum)).toFixed(0)} ms for onnxruntime and the model)`,
);
