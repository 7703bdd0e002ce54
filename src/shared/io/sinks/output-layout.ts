/** What a batch writes under its output folder: the output contract users and tests rely on. */

/** The part of chunk `chunkIndex`: its predictions, one JSON line per record. */
export const partName = (chunkIndex: number): string => `part-${String(chunkIndex).padStart(5, '0')}.jsonl`;
/** The error file of chunk `chunkIndex`: one JSON line per record that could not be scored. */
export const errorsName = (chunkIndex: number): string => `errors-${String(chunkIndex).padStart(5, '0')}.jsonl`;
/** Written when the batch closes: parts, counts, cost, timings and the summary. */
export const MANIFEST_NAME = 'manifest.json';

/** A batch id that names one folder (the producer's are UUIDs); `..` or `a/b` would not. */
export const PLAIN_BATCH_ID = /^[\w-]{1,100}$/;
