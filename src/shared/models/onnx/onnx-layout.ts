/**
 * How an ONNX model's outputs map to predictions, decided once at load from its outputs'
 * metadata. Converters agree closely enough to tell two layouts apart:
 * - **classifier**: a label output (int64 or string tensor: skl2onnx's `output_label`,
 *   onnxmltools' `label`, torch's `ArgMax`) and a float probabilities tensor [N, classes]
 *   (`probabilities`, torch's `Softmax`, or the tensor a ZipMap reads);
 * - **regressor**: a float tensor [N] or [N, k] (`variable`): a number, or an array of k.
 * Non-tensor outputs (ZipMap's maps) are never fetched: onnxruntime-node cannot return them.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelError } from '../../errors.js';
import type { Prediction } from '../../types.js';
import type { Scores } from '../model.js';
import type { OnnxGraphFacts } from './onnx-graph-reader.js';

type TensorMetadata = InferenceSession.TensorValueMetadata;

export type OnnxLayout =
  | { type: 'classifier'; label: string; probabilities: string | undefined; classLabels: (string | number)[] | undefined }
  | { type: 'regressor'; output: string };

const FLOATS = new Set(['float32', 'float64']);
const LABELS = new Set(['int64', 'int32', 'string']);

export function outputLayout(name: string, outputs: readonly InferenceSession.ValueMetadata[], facts: OnnxGraphFacts): OnnxLayout {
  const tensors = outputs.filter((o): o is TensorMetadata => o.isTensor);
  const label = tensors.find((o) => LABELS.has(o.type));
  const floats = tensors.filter((o) => FLOATS.has(o.type) && o.name !== label?.name);
  if (label) {
    const probabilities = facts.zipMapProbabilities ?? floats[0]?.name;
    let classLabels = facts.classLabels;
    // torch's ArgMax gives class indices: the labels are 0..classes-1 when the width is fixed.
    const width = floats.find((o) => o.name === probabilities)?.shape[1];
    if (!classLabels && label.type !== 'string' && typeof width === 'number') classLabels = Array.from({ length: width }, (_, i) => i);
    return { type: 'classifier', label: label.name, probabilities, classLabels };
  }
  const output = floats[0];
  if (!output) throw new ModelError(`model ${name} has no numeric tensor output to read predictions from`, { code: 'MODEL_INVALID' });
  return { type: 'regressor', output: output.name };
}

/** The outputs to fetch for a layout. */
export function fetchNames(layout: OnnxLayout): string[] {
  if (layout.type === 'regressor') return [layout.output];
  return layout.probabilities ? [layout.label, layout.probabilities] : [layout.label];
}

const toNumbers = (data: Tensor['data']): number[] => Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));

/** Splits a flat [n, k] float tensor into n rows of k (copied straight from the typed array). */
function rows(data: Tensor['data'], n: number): number[][] {
  const flat = data as Float32Array | Float64Array;
  const k = n > 0 ? flat.length / n : 0;
  const out = new Array<number[]>(n);
  for (let i = 0; i < n; i++) out[i] = Array.from(flat.subarray(i * k, (i + 1) * k));
  return out;
}

/** Predictions (and probabilities) of `n` records from one run's results. */
export function readScores(layout: OnnxLayout, results: Record<string, Tensor>, n: number): Scores {
  if (layout.type === 'regressor') {
    const out = results[layout.output];
    if (!out) throw new Error(`output ${layout.output} missing from the results`);
    // One value per record: numbers straight from the tensor; several: an array each.
    if (out.data.length === n) return { predictions: Array.from(out.data as Float32Array) };
    return { predictions: rows(out.data, n) };
  }
  const label = results[layout.label];
  if (!label) throw new Error(`output ${layout.label} missing from the results`);
  const predictions: Prediction[] = label.type === 'string' ? Array.from(label.data as string[]) : toNumbers(label.data);
  const scores: Scores = { predictions };
  const probabilities = layout.probabilities ? results[layout.probabilities] : undefined;
  if (probabilities) scores.probabilities = rows(probabilities.data, n);
  return scores;
}
