/**
 * Trains the Iris example's classifier and writes it as `examples/iris/iris.onnx`, in
 * skl2onnx's layout for a LogisticRegression (LinearClassifier + Normalizer + ZipMap).
 * Multinomial logistic regression by full-batch gradient descent on standardised features,
 * from zero weights: no randomness, so every run writes the same bytes (a test regenerates
 * the model and compares it with the checked-in file). Weights are rounded to 1e-6 so the
 * last bits of floating-point arithmetic never change the file.
 *
 *   npm run example:iris
 */
import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { linearClassifierModel } from '../../src/shared/models/onnx/graph-builder.js';

export const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
const EPOCHS = 3000;
const LEARNING_RATE = 0.5;
/** L2 penalty, as scikit-learn's default C=1 adds one. */
const L2 = 0.001;

export interface IrisRow {
  features: number[];
  species: string;
}

export function parseIris(csv: string): IrisRow[] {
  const [header, ...lines] = csv.trim().split('\n');
  const columns = (header ?? '').split(',');
  const at = (name: string): number => columns.indexOf(name);
  return lines.map((line) => {
    const cells = line.split(',');
    return { features: FEATURES.map((f) => Number(cells[at(f)])), species: cells[at('species')] ?? '' };
  });
}

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/** Fits the classifier; returns raw-feature weights (the standardisation folded in). */
export function trainIris(rows: readonly IrisRow[]): { coefficients: number[][]; intercepts: number[]; classLabels: string[] } {
  const classLabels = [...new Set(rows.map((r) => r.species))].sort();
  const d = FEATURES.length;
  const k = classLabels.length;
  const mean = FEATURES.map((_, j) => rows.reduce((s, r) => s + (r.features[j] ?? 0), 0) / rows.length);
  const sd = FEATURES.map((_, j) => Math.sqrt(rows.reduce((s, r) => s + ((r.features[j] ?? 0) - (mean[j] ?? 0)) ** 2, 0) / rows.length));
  const z = rows.map((r) => r.features.map((v, j) => (v - (mean[j] ?? 0)) / (sd[j] ?? 1)));
  const y = rows.map((r) => classLabels.indexOf(r.species));
  const w = Array.from({ length: k }, () => new Array<number>(d).fill(0));
  const b = new Array<number>(k).fill(0);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const gw = Array.from({ length: k }, () => new Array<number>(d).fill(0));
    const gb = new Array<number>(k).fill(0);
    z.forEach((x, i) => {
      const logits = w.map((wc, c) => wc.reduce((s, wj, j) => s + wj * (x[j] ?? 0), b[c] ?? 0));
      const max = Math.max(...logits);
      const exps = logits.map((l) => Math.exp(l - max));
      const total = exps.reduce((s, e) => s + e, 0);
      exps.forEach((e, c) => {
        const err = e / total - (y[i] === c ? 1 : 0);
        gb[c] = (gb[c] ?? 0) + err;
        x.forEach((xj, j) => ((gw[c] as number[])[j] = ((gw[c] as number[])[j] ?? 0) + err * xj));
      });
    });
    for (let c = 0; c < k; c++) {
      const wc = w[c] as number[];
      const gc = gw[c] as number[];
      for (let j = 0; j < d; j++) wc[j] = (wc[j] ?? 0) - LEARNING_RATE * ((gc[j] ?? 0) / rows.length + L2 * (wc[j] ?? 0));
      b[c] = (b[c] ?? 0) - (LEARNING_RATE * (gb[c] ?? 0)) / rows.length;
    }
  }
  // z = (x - mean) / sd, so w·z + b = (w / sd)·x + (b - Σ w·mean / sd).
  const coefficients = w.map((wc) => wc.map((wj, j) => round(wj / (sd[j] ?? 1))));
  const intercepts = w.map((wc, c) => round((b[c] ?? 0) - wc.reduce((s, wj, j) => s + (wj * (mean[j] ?? 0)) / (sd[j] ?? 1), 0)));
  return { coefficients, intercepts, classLabels };
}

/** The ONNX model the example ships, from the example's CSV. */
export function irisModel(csv: string): Uint8Array {
  return linearClassifierModel({ ...trainIris(parseIris(csv)), zipMap: true });
}

export const IRIS_DIR = path.dirname(fileURLToPath(import.meta.url));

const invoked = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invoked) {
  // Run from the bundle in dist/examples: the example's files are found from the working directory.
  const dir = path.resolve('examples', 'iris');
  await writeFile(path.join(dir, 'iris.onnx'), irisModel(readFileSync(path.join(dir, 'iris.csv'), 'utf8')));
  process.stdout.write(`wrote ${path.join(dir, 'iris.onnx')}\n`);
}
