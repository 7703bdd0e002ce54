/** Model files live under `MODEL_ROOT`: a reference can name a file there and nowhere else. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { hasControlCharacter } from '../control-chars.js';
import { ModelError } from '../errors.js';

/**
 * The absolute path of `argument` inside `modelRoot`, or a {@link ModelError}: absolute
 * paths, `..` leading out of the root and the root itself are refused.
 */
export function resolveModelFile(kind: string, argument: string | undefined, modelRoot: string): string {
  if (!argument) throw new ModelError(`model '${kind}' needs a file: ${kind}:<file in MODEL_ROOT>`);
  if (hasControlCharacter(argument)) throw new ModelError('model file name contains a control character');
  const file = path.resolve(modelRoot, argument);
  const rel = path.relative(modelRoot, file);
  // The root itself is not a file; `..` (alone or leading) and absolute paths leave the root.
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new ModelError(`model file must be inside the model root ${modelRoot} (MODEL_ROOT)`);
  }
  return file;
}

/** A kind that takes no argument refuses one. */
export function noArgument(kind: string, argument: string | undefined): void {
  if (argument !== undefined) throw new ModelError(`model '${kind}' takes no argument`);
}

/**
 * Reads a JSON model file: a missing file is `MODEL_NOT_FOUND`, unreadable or malformed JSON
 * `MODEL_INVALID`. The kind checks the shape.
 */
export async function readModelJson(kind: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'MODEL_NOT_FOUND' : 'MODEL_INVALID';
    throw new ModelError(`cannot read ${kind} model ${file}: ${(err as Error).message}`, { cause: err, code });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ModelError(`${kind} model ${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
}
