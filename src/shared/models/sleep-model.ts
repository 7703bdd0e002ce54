import { setTimeout as delay } from 'node:timers/promises';
import type { Model } from './model.js';
import { sumModel } from './sum-model.js';

/**
 * `sleep:<ms>`: waits `ms` per chunk, then predicts like `sum`. A stand-in for a slow model:
 * it makes chunks long enough to demonstrate autoscaling on queue depth and to test that
 * SIGTERM in the middle of a chunk hands it back. The wait is abortable; the CPU cost is nil.
 */
export function createSleepModel(ms: number): Model {
  return {
    name: 'sleep',
    async predict(features, options) {
      await delay(ms, undefined, { signal: options?.signal });
      return sumModel.predict(features);
    },
  };
}
