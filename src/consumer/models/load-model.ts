import type { ModelRef } from '../../shared/model-ref.js';
import { loadLinearModel } from './linear-model.js';
import type { Model } from './model.js';
import { sumModel } from './sum-model.js';

const cache = new Map<string, Promise<Model>>();

/** Loads a model once per process; later chunks of any batch reuse it. */
export function loadModel(ref: ModelRef): Promise<Model> {
  const key = `${ref.kind}:${ref.file ?? ''}`;
  let model = cache.get(key);
  if (!model) {
    model = ref.kind === 'sum' ? Promise.resolve(sumModel) : loadLinearModel(ref.file ?? '');
    // A failed load is not cached: the file may appear (volume mounted late).
    model.catch(() => cache.delete(key));
    cache.set(key, model);
  }
  return model;
}
