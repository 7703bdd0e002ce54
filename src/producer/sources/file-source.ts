import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DatasetError } from '../../shared/errors.js';
import type { DatasetSource, OpenOptions } from './dataset-source.js';

/** `file://` datasets: local files, for `batchinfer run` and shared volumes. */
export const fileSource: DatasetSource = {
  schemes: ['file'],
  async open(url: URL, options: OpenOptions): Promise<Readable> {
    const filePath = fileURLToPath(url);
    try {
      const info = await stat(filePath);
      if (!info.isFile()) throw new DatasetError('DATASET_NOT_FOUND', `dataset is not a file: ${filePath}`);
    } catch (err) {
      if (err instanceof DatasetError) throw err;
      throw new DatasetError('DATASET_NOT_FOUND', `dataset not found: ${filePath}`, { cause: err });
    }
    return createReadStream(filePath, { signal: options.signal, highWaterMark: 256 * 1024 });
  },
};
