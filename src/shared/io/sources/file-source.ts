/** `file://` datasets: local files and folders of files, for `batchinfer run` and shared volumes. */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DatasetError } from '../../errors.js';
import type { DatasetSource, OpenedDataset, ReadOptions, SourceEntry, SourceStat } from './dataset-source.js';

/** A file's version: it changed if its modification time or size did. */
const versionOf = (info: Stats): string => `mtime:${info.mtimeMs}:size:${info.size}`;

async function statPath(filePath: string): Promise<Stats> {
  try {
    return await stat(filePath);
  } catch (err) {
    throw new DatasetError('DATASET_NOT_FOUND', `dataset not found: ${filePath}`, { cause: err });
  }
}

async function statFile(url: URL): Promise<{ filePath: string; info: Stats }> {
  const filePath = fileURLToPath(url);
  const info = await statPath(filePath);
  if (!info.isFile()) throw new DatasetError('DATASET_NOT_FOUND', `dataset is not a file: ${filePath}`);
  return { filePath, info };
}

export const fileSource: DatasetSource = {
  schemes: ['file'],
  // Local files open no connection; which may be read is the scheme allow-list's decision.
  admit: () => Promise.resolve(),

  async stat(url: URL): Promise<SourceStat> {
    const { info } = await statFile(url);
    return { size: info.size, version: versionOf(info), rangeable: true };
  },

  async open(url: URL, options: ReadOptions): Promise<OpenedDataset> {
    const { filePath, info } = await statFile(url);
    const version = versionOf(info);
    if (options.version !== undefined && options.version !== version) {
      throw new DatasetError('DATASET_CHANGED', `dataset ${filePath} is no longer the version this batch was planned on`);
    }
    const { range } = options;
    if (range && range.end <= range.start) return { stream: Readable.from([]), version };
    // createReadStream's `end` is inclusive.
    const bounds = range ? { start: range.start, end: range.end - 1 } : {};
    // A stream made with an already-aborted signal emits 'error' before anyone listens
    // (an uncaught exception): stopped during the stat above, stop here instead.
    options.signal?.throwIfAborted();
    const stream = createReadStream(filePath, { signal: options.signal, highWaterMark: 256 * 1024, ...bounds });
    return { stream, version };
  },

  /** A directory: its files, recursively, in lexical order of their paths; hidden and empty files skipped. */
  async list(url: URL): Promise<SourceEntry[] | undefined> {
    const root = fileURLToPath(url);
    if (!(await statPath(root)).isDirectory()) return undefined;
    const names = (await readdir(root, { recursive: true })).filter((name) => !name.split(path.sep).some((part) => part.startsWith('.')));
    const entries: SourceEntry[] = [];
    for (const name of names.sort()) {
      const filePath = path.join(root, name);
      const info = await stat(filePath);
      if (info.isFile() && info.size > 0)
        entries.push({ url: pathToFileURL(filePath).toString(), size: info.size, version: versionOf(info) });
    }
    return entries;
  },
};
