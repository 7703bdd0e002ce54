/** `linear:<file>`: a linear regressor whose weights and bias are a JSON file under `MODEL_ROOT`. */
import { ModelError } from '../../errors.js';
import type { Model, ModelKind } from '../model.js';
import { readModelJson, resolveModelFile } from '../model-file.js';

/** A linear regressor: prediction = weights · features + bias, from `{"weights": [...], "bias": b}`. */
export function createLinearModel(weights: readonly number[], bias: number): Model {
  return {
    name: 'linear',
    inputSize: weights.length,
    predict(features) {
      return features.map((row) => {
        let total = bias;
        for (let j = 0; j < weights.length; j++) total += (weights[j] ?? 0) * (row[j] ?? 0);
        return total;
      });
    },
  };
}

export async function loadLinearModel(file: string): Promise<Model> {
  const parsed = await readModelJson('linear', file);
  const { weights, bias = 0 } = (parsed ?? {}) as { weights?: unknown; bias?: unknown };
  const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!Array.isArray(weights) || weights.length === 0 || !weights.every(isFinite) || !isFinite(bias)) {
    throw new ModelError(`linear model ${file} needs {"weights": [numbers], "bias": number}`);
  }
  return createLinearModel(weights, bias);
}

export const linearKind: ModelKind = {
  name: 'linear',
  usage: 'linear:<file in MODEL_ROOT>',
  parse(argument, ref, context) {
    const file = resolveModelFile('linear', argument, context.modelRoot);
    return { kind: 'linear', ref, cacheKey: `linear:${file}`, load: () => loadLinearModel(file) };
  },
};
