/**
 * Model references, as requests and `MODEL` name them: `sum`, `linear:<file>` with the
 * file inside `MODEL_ROOT`, `sleep:<ms>`, or `drill:<file>` (fault drills, file inside
 * `MODEL_ROOT`). The producer checks a reference when a batch
 * is submitted; the consumer loads it.
 */
import path from 'node:path';
import { hasControlCharacter } from '../control-chars.js';
import { ModelError } from '../errors.js';

export const MODEL_KINDS = ['sum', 'linear', 'sleep', 'drill'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** Longest delay `sleep:<ms>` accepts: one chunk must still fit well inside a revision timeout. */
export const MAX_SLEEP_MS = 600_000;

export interface ModelRef {
  kind: ModelKind;
  /** Absolute path of the model file, inside the model root (`linear`, `drill`). */
  file?: string;
  /** Delay per chunk in ms (`sleep`). */
  sleepMs?: number;
  /** The reference as written, used as the `model` cost label. */
  ref: string;
}

/** What follows the `:` of each kind: nothing, a file in the model root, or a delay in ms. */
const ARGUMENT: Record<ModelKind, 'none' | 'file' | 'ms'> = { sum: 'none', linear: 'file', sleep: 'ms', drill: 'file' };

export function parseModelRef(ref: string, modelRoot: string): ModelRef {
  const sep = ref.indexOf(':');
  const kind = (sep === -1 ? ref : ref.slice(0, sep)) as ModelKind;
  const argument = sep === -1 ? undefined : ref.slice(sep + 1);
  if (!MODEL_KINDS.includes(kind)) {
    throw new ModelError(`unknown model '${kind}' (known: ${MODEL_KINDS.join(', ')})`);
  }
  switch (ARGUMENT[kind]) {
    case 'none':
      if (argument !== undefined) throw new ModelError(`model '${kind}' takes no argument`);
      return { kind, ref };
    case 'ms': {
      if (argument === undefined || !/^\d{1,7}$/.test(argument) || Number(argument) > MAX_SLEEP_MS) {
        throw new ModelError(`model '${kind}' needs a delay: ${kind}:<ms per chunk, 0..${MAX_SLEEP_MS}>`);
      }
      return { kind, sleepMs: Number(argument), ref };
    }
    case 'file': {
      if (!argument) throw new ModelError(`model '${kind}' needs a file: ${kind}:<file in MODEL_ROOT>`);
      if (hasControlCharacter(argument)) throw new ModelError('model file name contains a control character');
      const file = path.resolve(modelRoot, argument);
      const rel = path.relative(modelRoot, file);
      // The root itself is not a file; `..` (alone or leading) and absolute paths leave the root.
      if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
        throw new ModelError(`model file must be inside the model root ${modelRoot}`);
      }
      return { kind, file, ref };
    }
  }
}
