/**
 * One line for a batch's error, where a text is wanted (the CLI, the manifest, the
 * `batch.completed` event): `MODEL_NOT_FOUND: no model at ... (chunk 3, 3 attempts)`.
 */
import type { BatchError } from '../types.js';

export function describeBatchError(error: BatchError): string {
  const where = [
    error.chunkIndex === undefined ? undefined : `chunk ${error.chunkIndex}`,
    error.attempts === undefined ? undefined : `${error.attempts} attempt(s)`,
  ].filter((part): part is string => part !== undefined);
  return `${error.code}: ${error.message}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
}
