/**
 * Opens a dataset URL as a stream of decompressed bytes: picks the source for the scheme,
 * enforces the scheme allow-list, recognises gzip by its magic bytes (`.gz` files and
 * gzip-encoded responses alike), and stops a dataset that exceeds the size limit.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DatasetError } from '../../errors.js';
import type { OpenOptions } from './dataset-source.js';
import { FetchDeadline } from './fetch-deadline.js';
import { sourceFor } from './registry.js';

export interface OpenDatasetOptions extends OpenOptions {
  allowedSchemes: readonly string[];
  maxBytes: number;
  /** Longest time to read the whole dataset (`DATASET_FETCH_TIMEOUT_SECONDS`). @defaultValue none */
  fetchTimeoutMs?: number;
  /**
   * The version an earlier read of this batch's dataset saw (a resumed ingest): a different
   * (or unknown) version now fails with `DATASET_CHANGED` instead of mixing two files.
   */
  expectedVersion?: string;
  /** Told the version before any byte is read, so it can be recorded first. */
  onVersion?: (version: string | undefined) => Promise<void>;
}

function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(new DatasetError('DATASET_TOO_LARGE', `dataset exceeds ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
}

/** Reads the first chunk of a stream and puts it back, to sniff the format. */
function peek(stream: Readable): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onReadable = (): void => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      cleanup();
      stream.unshift(chunk);
      resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

const isGzip = (head: Buffer | null): boolean => head !== null && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

export async function openDataset(url: URL, options: OpenDatasetOptions): Promise<Readable> {
  const source = sourceFor(url, options.allowedSchemes);
  const deadline = new FetchDeadline(options.fetchTimeoutMs, options.signal);
  let raw: Readable;
  let head: Buffer | null;
  try {
    const opened = await source.open(url, { ...options, signal: deadline.signal });
    raw = opened.stream;
    if (options.expectedVersion !== undefined && opened.version !== options.expectedVersion) {
      raw.destroy();
      // No query string in the message: presigned URLs carry their signature there.
      const name = `${url.protocol}//${url.host}${url.pathname}`;
      throw new DatasetError(
        'DATASET_CHANGED',
        `dataset ${name} is not the version this batch began reading (${options.expectedVersion}, now ${opened.version ?? 'unknown'})`,
      );
    }
    await options.onVersion?.(opened.version);
    head = await peek(raw);
  } catch (err) {
    deadline.clear();
    throw deadline.explain(err);
  }
  const limited = byteLimit(options.maxBytes);
  const stages: NodeJS.ReadWriteStream[] = isGzip(head) ? [createGunzip(), limited] : [limited];
  // The reader consumes `limited`; whichever stage fails, the error must surface there.
  pipeline([raw, ...stages], (err) => {
    if (err && !limited.destroyed) limited.destroy(err);
  });
  return deadline.guard(limited);
}
