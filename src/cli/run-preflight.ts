/**
 * What `batchinfer run` checks before it starts anything (Redis, consumers): the dataset is
 * there, the output can be written. A mistake here costs the user one line and exit 2,
 * not a Redis start-up, a hung batch or a stack trace.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DatasetError, OutputError } from '../shared/errors.js';
import { checkOutputWritable } from '../shared/io/sinks/registry.js';

/** A plain path (or file: URL) becomes a file: URL; other URLs pass through. */
export function datasetUrl(dataset: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dataset) ? dataset : pathToFileURL(path.resolve(dataset)).toString();
}

/** A local dataset must exist and be a file or a folder. Remote ones are checked by the ingest. */
export async function checkLocalDataset(url: string): Promise<void> {
  if (!url.startsWith('file:')) return;
  const file = fileURLToPath(url);
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or folder' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new DatasetError('DATASET_NOT_FOUND', `dataset ${file}: ${why} (check the path; relative paths start at ${process.cwd()})`, {
      cause: err,
    });
  }
  if (!info.isFile() && !info.isDirectory()) throw new DatasetError('DATASET_NOT_FOUND', `dataset ${file} is neither a file nor a folder`);
}

/** The output location can take the batch folder: fails with the path and the reason. */
export async function checkOutput(outputUrl: string): Promise<void> {
  try {
    await checkOutputWritable(outputUrl);
  } catch (err) {
    if (err instanceof OutputError) {
      throw new OutputError(`${err.message} (choose another --output)`, {
        code: err.code as 'OUTPUT_INVALID' | 'OUTPUT_NOT_WRITABLE',
        cause: err,
      });
    }
    throw err;
  }
}
