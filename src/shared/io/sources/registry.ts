/** The dataset sources, one line each. Nothing else in the code knows which schemes exist. */
import { DatasetRefusedError } from '../../errors.js';
import type { DatasetSource } from './dataset-source.js';
import { fileSource } from './file-source.js';
import { httpSource } from './http-source.js';
import { s3Source } from './s3-source.js';

export const SOURCES: readonly DatasetSource[] = [fileSource, httpSource, s3Source];

/** The source of a dataset URL, after checking its scheme is allowed (`DATASET_ALLOWED_SCHEMES`) and readable. */
export function sourceFor(url: URL, allowedSchemes: readonly string[]): DatasetSource {
  const scheme = url.protocol.replace(/:$/, '');
  if (!allowedSchemes.includes(scheme)) {
    throw new DatasetRefusedError(`dataset URL scheme '${scheme}' is not allowed (allowed: ${allowedSchemes.join(', ')})`);
  }
  const source = SOURCES.find((s) => s.schemes.includes(scheme));
  if (!source) throw new DatasetRefusedError(`dataset URL scheme '${scheme}' is not supported`);
  return source;
}
