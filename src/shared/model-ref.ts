/**
 * Model references, as requests and `MODEL` name them: `sum`, or `linear:<file>` with the
 * file inside `MODEL_ROOT`. The producer checks a reference when a batch is submitted;
 * the consumer loads it.
 */
import path from 'node:path';
import { ModelError } from './errors.js';

export const MODEL_KINDS = ['sum', 'linear'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export interface ModelRef {
  kind: ModelKind;
  /** Absolute path of the model file, inside the model root. */
  file?: string;
  /** The reference as written, used as the `model` cost label. */
  ref: string;
}

const NEEDS_FILE: Record<ModelKind, boolean> = { sum: false, linear: true };

export function parseModelRef(ref: string, modelRoot: string): ModelRef {
  const sep = ref.indexOf(':');
  const kind = (sep === -1 ? ref : ref.slice(0, sep)) as ModelKind;
  const location = sep === -1 ? undefined : ref.slice(sep + 1);
  if (!MODEL_KINDS.includes(kind)) {
    throw new ModelError(`unknown model '${kind}' (known: ${MODEL_KINDS.join(', ')})`);
  }
  if (!NEEDS_FILE[kind]) {
    if (location !== undefined) throw new ModelError(`model '${kind}' takes no file`);
    return { kind, ref };
  }
  if (!location) throw new ModelError(`model '${kind}' needs a file: ${kind}:<file in MODEL_ROOT>`);
  const file = path.resolve(modelRoot, location);
  const rel = path.relative(modelRoot, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ModelError(`model file must be inside the model root ${modelRoot}`);
  }
  return { kind, file, ref };
}
