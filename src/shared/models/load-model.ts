import type { ModelRef } from './model-ref.js';
import { loadDrillModel } from './drill-model.js';
import { loadLinearModel } from './linear-model.js';
import type { Model } from './model.js';
import { createSleepModel } from './sleep-model.js';
import { sumModel } from './sum-model.js';

const cache = new Map<string, Promise<Model>>();

function createModel(ref: ModelRef): Promise<Model> {
  switch (ref.kind) {
    case 'sum':
      return Promise.resolve(sumModel);
    case 'sleep':
      return Promise.resolve(createSleepModel(ref.sleepMs ?? 0));
    case 'linear':
      return loadLinearModel(ref.file ?? '');
    case 'drill':
      return loadDrillModel(ref.file ?? '');
  }
}

/** Loads a model once per process; later chunks of any batch reuse it. */
export function loadModel(ref: ModelRef): Promise<Model> {
  const key = `${ref.kind}:${ref.file ?? ref.sleepMs ?? ''}`;
  let model = cache.get(key);
  if (!model) {
    model = createModel(ref);
    // A failed load is not cached: the file may appear (volume mounted late).
    model.catch(() => cache.delete(key));
    cache.set(key, model);
  }
  return model;
}
