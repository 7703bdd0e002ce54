/**
 * Output locations: resolving a batch's output folder under an output root, and the rule
 * that a request may only write below the configured root.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OutputError } from '../errors.js';
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
  return pathToFileURL(path.resolve(fileURLToPath(url))).toString();
}

/** True when `candidate` is `root` or lies below it. */
export function isWithinRoot(candidate: string, root: string): boolean {
  const c = fileURLToPath(normaliseOutputUrl(candidate));
  const r = fileURLToPath(normaliseOutputUrl(root));
  const rel = path.relative(r, c);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The sink for one batch: `<outputUrl>/<batchId>/`. */
export function openBatchSink(outputUrl: string, batchId: string): OutputSink {
  const root = fileURLToPath(normaliseOutputUrl(outputUrl));
  return new FileSink(path.join(root, batchId));
}

export const partName = (chunkIndex: number): string => `part-${String(chunkIndex).padStart(5, '0')}.jsonl`;
export const errorsName = (chunkIndex: number): string => `errors-${String(chunkIndex).padStart(5, '0')}.jsonl`;
export const MANIFEST_NAME = 'manifest.json';
