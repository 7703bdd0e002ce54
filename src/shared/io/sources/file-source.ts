import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DatasetError } from '../../errors.js';
import type { DatasetSource, OpenedDataset, OpenOptions } from './dataset-source.js';

/** `file://` datasets: local files, for `batchinfer run` and shared volumes. */
export const fileSource: DatasetSource = {
  schemes: ['file'],
  async open(url: URL, options: OpenOptions): Promise<OpenedDataset> {
    const filePath = fileURLToPath(url);
    let info: Stats;
    try {
      info = await stat(filePath);
    } catch (err) {
      throw new DatasetError('DATASET_NOT_FOUND', `dataset not found: ${filePath}`, { cause: err });
    }
    if (!info.isFile()) throw new DatasetError('DATASET_NOT_FOUND', `dataset is not a file: ${filePath}`);
    const stream: Readable = createReadStream(filePath, { signal: options.signal, highWaterMark: 256 * 1024 });
    return { stream, version: `mtime:${info.mtimeMs}:size:${info.size}` };
  },
};
