/** `file://` datasets: local files and folders of files, for `batchinfer run` and shared volumes. */
import { close, createReadStream, fstat, open, read } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DatasetError } from '../../errors.js';
import type { ByteRange, DatasetSource, OpenedDataset, ReadOptions, SourceEntry, SourceStat } from './dataset-source.js';

const openFd = promisify(open);
const readFd = promisify(read);
const closeFd = promisify(close);
const fstatFd = promisify(fstat);

/**
 * Ranges up to this are read with one open/read/close instead of a read stream: a split of a
 * few thousand records is read whole anyway, and the stream's machinery (iterator, destroy)
 * cost more than the read itself, per split.
 */
const SINGLE_READ_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The bytes of `[start, end)` (fewer when the file is shorter), read through one descriptor
 * whose own stat is the version checked: open, fstat, read, close.
 */
async function readRangeOf(filePath: string, start: number, end: number, version: string | undefined): Promise<Buffer> {
  let fd: number;
  try {
    fd = await openFd(filePath, 'r');
  } catch (err) {
    throw notFound(filePath, err);
  }
  try {
    if (version !== undefined) checkVersion(filePath, versionOf(await fstatFd(fd)), version);
    const buffer = Buffer.allocUnsafe(Math.max(0, end - start));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await readFd(fd, buffer, filled, buffer.length - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await closeFd(fd);
  }
}

/** A file's version: it changed if its modification time or size did. */
const versionOf = (info: Stats): string => `mtime:${info.mtimeMs}:size:${info.size}`;

const notFound = (filePath: string, cause: unknown): DatasetError =>
  new DatasetError('DATASET_NOT_FOUND', `dataset not found: ${filePath}`, { cause });

/** Reads are pinned to the version a batch was planned on (`expected`, when it gives one). */
function checkVersion(filePath: string, version: string, expected: string | undefined): void {
  if (expected !== undefined && expected !== version) {
    throw new DatasetError('DATASET_CHANGED', `dataset ${filePath} is no longer the version this batch was planned on`);
  }
}

async function statPath(filePath: string): Promise<Stats> {
  try {
    return await stat(filePath);
  } catch (err) {
    throw notFound(filePath, err);
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
    checkVersion(filePath, version, options.version);
    const { range } = options;
    if (range && range.end <= range.start) return { stream: Readable.from([]), version };
    // createReadStream's `end` is inclusive.
    const bounds = range ? { start: range.start, end: range.end - 1 } : {};
    // A stream made with an already-aborted signal emits 'error' before anyone listens
    // (an uncaught exception): stopped during the stat above, stop here instead.
    options.signal?.throwIfAborted();
    if (range && range.end - range.start <= SINGLE_READ_MAX_BYTES) {
      const bytes = await readRangeOf(filePath, range.start, range.end, undefined);
      return { stream: Readable.from(bytes.length > 0 ? [bytes] : []), version };
    }
    const stream = createReadStream(filePath, { signal: options.signal, highWaterMark: 256 * 1024, ...bounds });
    return { stream, version };
  },

  async readRange(url: URL, options: ReadOptions & { range: ByteRange }): Promise<Buffer> {
    options.signal?.throwIfAborted();
    return readRangeOf(fileURLToPath(url), options.range.start, options.range.end, options.version);
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
