/**
 * `sleep:<ms>` (a test kind): waits `ms` per chunk, then predicts like `sum`. A stand-in for
 * a slow model: it makes chunks long enough to demonstrate autoscaling on queue depth and to
 * test that SIGTERM in the middle of a chunk hands it back. The wait is abortable; the CPU
 * cost is nil.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ModelError } from '../../errors.js';
import type { Model, ModelKind } from '../model.js';
import { sumModel } from './sum.js';

/** Longest delay `sleep:<ms>` accepts: one chunk must still fit well inside a revision timeout. */
export const MAX_SLEEP_MS = 600_000;

export function createSleepModel(ms: number): Model {
  return {
    name: 'sleep',
    async predict(features, options) {
      await delay(ms, undefined, { signal: options?.signal });
      return sumModel.predict(features);
    },
  };
}

export const sleepKind: ModelKind = {
  name: 'sleep',
  usage: 'sleep:<ms>',
  parse(argument, ref) {
    if (argument === undefined || !/^\d{1,7}$/.test(argument) || Number(argument) > MAX_SLEEP_MS) {
      throw new ModelError(`model 'sleep' needs a delay: sleep:<ms per chunk, 0..${MAX_SLEEP_MS}>`);
    }
    const ms = Number(argument);
    return { kind: 'sleep', ref, cacheKey: `sleep:${ms}`, load: () => Promise.resolve(createSleepModel(ms)) };
  },
};
