import { readFile } from 'node:fs/promises';
import { ModelError } from '../errors.js';
import type { Model } from './model.js';

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
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ModelError(`cannot read linear model ${file}: ${(err as Error).message}`, { cause: err });
  }
  const { weights, bias = 0 } = (parsed ?? {}) as { weights?: unknown; bias?: unknown };
  const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!Array.isArray(weights) || weights.length === 0 || !weights.every(isFinite) || !isFinite(bias)) {
    throw new ModelError(`linear model ${file} needs {"weights": [numbers], "bias": number}`);
  }
  return createLinearModel(weights, bias);
}
