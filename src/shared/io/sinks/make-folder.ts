/**
 * `mkdir -p`, bounded. Node's `mkdir(dir, { recursive: true })` loops forever at full CPU
 * where the kernel answers ENOENT for a parent that exists (a path under /proc or /sys), so a
 * consumer whose output folder turns into such a path would hang on its chunk instead of
 * failing it. This walks up once to the deepest existing folder and makes each missing level
 * with a plain mkdir: at most one step per path segment, and every error surfaces.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

const codeOf = (err: unknown): unknown => (err as NodeJS.ErrnoException).code;

/** The deepest existing ancestor of `dir` (itself when it exists). */
export async function existingAncestor(dir: string): Promise<string> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      await stat(current);
      return current;
    } catch (err) {
      if (codeOf(err) !== 'ENOENT' || path.dirname(current) === current) throw err;
    }
  }
}

export async function makeFolder(dir: string): Promise<void> {
  const target = path.resolve(dir);
  const base = await existingAncestor(target);
  if (!(await stat(base)).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', path: base });
  }
  let current = base;
  for (const name of path.relative(base, target).split(path.sep).filter(Boolean)) {
    current = path.join(current, name);
    try {
      await mkdir(current);
    } catch (err) {
      // Made meanwhile by another chunk of the same batch.
      if (codeOf(err) !== 'EEXIST') throw err;
    }
  }
}
