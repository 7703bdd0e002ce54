/**
 * `drill:<file>`: a model for fault drills and the fault tests. It predicts like `sum`, but
 * before every chunk it reads its JSON file (inside `MODEL_ROOT`) and obeys it:
 * - `delayMs`: take this long per chunk (like a remote or GPU model; `sleep:<ms>` does only
 *   this), so a drill's kill lands mid-chunk;
 * - `failWhenFeature`: throw on any chunk holding a record with this feature value;
 * - `fail`: throw on every chunk.
 * The file is read per chunk so a drill can switch faults on and off in a running system
 * (e.g. fail chunks, then heal the model and retry them). A thrown fault is an ordinary,
 * retryable error, like a model server's outage.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelError } from '../../errors.js';
import type { Model, ModelKind } from '../model.js';
import { readModelJson, resolveModelFile } from '../model-file.js';
import { sumModel } from './sum.js';

export interface DrillSettings {
  /** Time each chunk takes. @defaultValue 0 */
  delayMs?: number;
  /** A chunk with a record having this feature value fails. */
  failWhenFeature?: number;
  /** Every chunk fails. @defaultValue false */
  fail?: boolean;
  /** The error message of a failing chunk. @defaultValue `drill: simulated model failure` */
  message?: string;
}

/**
 * The error a drill model throws: retryable, like a model server's outage. `retryable` keeps
 * the consumer from bisecting the chunk to isolate records: the whole attempt fails.
 */
export class DrillFault extends Error {
  readonly code = 'MODEL_DRILL_FAULT';
  readonly retryable = true;
}

async function readSettings(file: string): Promise<DrillSettings> {
  const parsed = await readModelJson('drill', file);
  const s = (parsed ?? {}) as Record<string, unknown>;
  const optionalNumber = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v));
  const valid =
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    optionalNumber(s.delayMs) &&
    optionalNumber(s.failWhenFeature) &&
    (s.fail === undefined || typeof s.fail === 'boolean') &&
    (s.message === undefined || typeof s.message === 'string');
  if (!valid) {
    throw new ModelError(
      `drill model ${file} needs {"delayMs"?: number, "failWhenFeature"?: number, "fail"?: boolean, "message"?: string}`,
    );
  }
  return s;
}

export async function loadDrillModel(file: string): Promise<Model> {
  await readSettings(file);
  return {
    name: 'drill',
    async predict(features, options) {
      const settings = await readSettings(file);
      if (settings.delayMs) await sleep(settings.delayMs, undefined, { signal: options?.signal });
      const poisoned = settings.failWhenFeature !== undefined && features.some((row) => row.includes(settings.failWhenFeature as number));
      if (settings.fail || poisoned) throw new DrillFault(settings.message ?? 'drill: simulated model failure');
      return sumModel.predict(features);
    },
  };
}

export const drillKind: ModelKind = {
  name: 'drill',
  usage: 'drill:<file in MODEL_ROOT>',
  parse(argument, ref, context) {
    const file = resolveModelFile('drill', argument, context.modelRoot);
    return { kind: 'drill', ref, cacheKey: `drill:${file}`, load: () => loadDrillModel(file) };
  },
};
