/**
 * Output locations: resolving a batch's output folder under an output root, and the rule
 * that a request may only write below the configured root.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hasControlCharacter } from '../../control-chars.js';
import { OutputError } from '../../errors.js';
import { FileSink } from './file-sink.js';
import type { OutputSink } from './output-sink.js';

/** Normalises a folder path or URL to a `file://` URL string with no trailing slash. */
export function normaliseOutputUrl(location: string): string {
  let url: URL;
  try {
    url = /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? new URL(location) : pathToFileURL(path.resolve(location));
  } catch {
    throw new OutputError(`output location is not a URL or path: ${location}`);
  }
  if (url.protocol !== 'file:') throw new OutputError(`output scheme ${url.protocol} is not supported (use file:// or a path)`);
  let file: string;
  try {
    file = fileURLToPath(url);
  } catch (err) {
    // An encoded slash, or a host other than localhost.
    throw new OutputError(`output location is not a local path: ${(err as Error).message}`);
  }
  // A NUL or other control character (even percent-encoded) is never a real folder name.
  if (hasControlCharacter(file)) throw new OutputError('output location contains a control character');
  return pathToFileURL(path.resolve(file)).toString();
}

/** True when `rel` (a `path.relative` result) stays inside its base. */
const staysInside = (rel: string): boolean => rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));

/** True when `candidate` is `root` or lies below it, by its path (`..` resolved, encoded or not). */
export function isWithinRoot(candidate: string, root: string): boolean {
  const c = fileURLToPath(normaliseOutputUrl(candidate));
  const r = fileURLToPath(normaliseOutputUrl(root));
  return staysInside(path.relative(r, c));
}

/** The real path of `file`'s deepest existing ancestor, joined with the part that does not exist yet. */
function realPathSoFar(file: string): string {
  let existing = file;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(existing), ...rest);
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return file;
      rest.unshift(path.basename(existing));
      existing = parent;
    }
  }
}

/**
 * True when `candidate` still lies inside `root` once symbolic links are followed, as far
 * as the folders exist on this machine: a link inside the output root that points out of
 * it must not carry a batch's output elsewhere. Where the producer does not mount the
 * output volume, this is the same as {@link isWithinRoot}.
 */
export function isReallyWithinRoot(candidate: string, root: string): boolean {
  const c = realPathSoFar(fileURLToPath(normaliseOutputUrl(candidate)));
  const r = realPathSoFar(fileURLToPath(normaliseOutputUrl(root)));
  return staysInside(path.relative(r, c));
}

/** The sink for one batch: `<outputUrl>/<batchId>/`. */
export function openBatchSink(outputUrl: string, batchId: string): OutputSink {
  const root = fileURLToPath(normaliseOutputUrl(outputUrl));
  return new FileSink(path.join(root, batchId));
}

export const partName = (chunkIndex: number): string => `part-${String(chunkIndex).padStart(5, '0')}.jsonl`;
export const errorsName = (chunkIndex: number): string => `errors-${String(chunkIndex).padStart(5, '0')}.jsonl`;
export const MANIFEST_NAME = 'manifest.json';
