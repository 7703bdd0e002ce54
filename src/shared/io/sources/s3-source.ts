/**
 * `s3://bucket/key` datasets, and `s3://bucket/prefix/` folders of them. An object's version
 * is its ETag: read once (`stat`, `list`), then every read pins it with `If-Match`, so an
 * object replaced while a batch reads it fails the batch (`DATASET_CHANGED`) instead of
 * mixing two versions. The ETag of each answer is compared too, for stores that ignore
 * `If-Match`. A body cut mid-way is resumed from where it stopped, pinned the same way.
 */
import { Readable } from 'node:stream';
import { DatasetError, DatasetRefusedError } from '../../errors.js';
import { redactUrl } from '../../observability/redact.js';
import { loadS3Store } from '../s3/load-s3-store.js';
import type { S3StoreProvider } from '../s3/load-s3-store.js';
import { classifyS3Error, s3Reason } from '../s3/s3-errors.js';
import { describeS3, folderPrefix, parseS3Url, s3Url } from '../s3/s3-location.js';
import type { S3Location } from '../s3/s3-location.js';
import type { S3Store } from '../s3/s3-store.js';
import type { DatasetSource, OpenedDataset, OpenOptions, ReadOptions, SourceEntry, SourceStat } from './dataset-source.js';

// The URL in a message without its password: a user may have put a secret there.
const location = (url: URL): S3Location =>
  parseS3Url(url, (problem) => new DatasetRefusedError(`dataset URL ${redactUrl(url.href)}: ${problem}`));
const versionOf = (etag: string): string => `etag:${etag}`;
const changed = (at: S3Location, how: string): DatasetError =>
  new DatasetError('DATASET_CHANGED', `dataset ${describeS3(at)} ${how}; not mixing two versions in one batch`);

const isPrefix = (at: S3Location): boolean => at.key === '' || at.key.endsWith('/');
const prefixNotObject = (at: S3Location): DatasetError =>
  new DatasetError('DATASET_NOT_FOUND', `${describeS3(at)} names a prefix, not an object`);

/** The dataset error a failed request means; `pinned` when it asked for one version. */
function datasetError(err: unknown, at: S3Location, pinned: boolean): unknown {
  const name = describeS3(at);
  switch (classifyS3Error(err)) {
    case 'aborted':
      return err;
    case 'no-bucket':
      return new DatasetError('DATASET_NOT_FOUND', `bucket '${at.bucket}' does not exist`, { cause: err });
    case 'not-found':
      return new DatasetError('DATASET_NOT_FOUND', `dataset not found: ${name}`, { cause: err });
    case 'forbidden':
      return new DatasetError('DATASET_FORBIDDEN', `access to ${name} denied: ${s3Reason(err)}`, { cause: err });
    case 'precondition':
      return changed(at, 'is no longer the version this batch was planned on');
    case 'invalid-range':
      if (pinned) return changed(at, 'is shorter than when this batch was planned');
      return new DatasetError('DATASET_HTTP_ERROR', `object store refused the byte range of ${name}`, { cause: err });
    case 'store-error':
      return new DatasetError('DATASET_HTTP_ERROR', `object store answered ${s3Reason(err)} for ${name}`, { cause: err });
    case 'unreachable':
      return new DatasetError('DATASET_UNREACHABLE', `cannot reach the object store for ${name}: ${s3Reason(err)}`, { cause: err });
  }
}

/** The `If-Match` value of a version from `stat`/`list`; a version of another kind never matches. */
function etagOf(version: string | undefined, at: S3Location): string | undefined {
  if (version === undefined) return undefined;
  if (!version.startsWith('etag:')) throw changed(at, 'is not the version this batch was planned on');
  return version.slice('etag:'.length);
}

/** Fails a body that sends nothing for `idleMs` (the socket of a GET's body). */
function watchIdle(body: Readable, at: S3Location, idleMs: number): void {
  const socketBody = body as Readable & { setTimeout?: (ms: number, onTimeout: () => void) => unknown };
  socketBody.setTimeout?.(idleMs, () => {
    body.destroy(new DatasetError('DATASET_TIMEOUT', `dataset stream from ${describeS3(at)} stalled for ${idleMs} ms`));
  });
}

interface Read {
  store: S3Store;
  at: S3Location;
  etag: string;
  options: ReadOptions;
}

/**
 * The bytes of `first` and, when the stream breaks, of further ranged GETs from where it
 * stopped, pinned to `etag`; `retries` breaks in a row without progress, then it fails.
 */
async function* resumable(first: Readable, read: Read): AsyncGenerator<Buffer> {
  const { store, at, etag, options } = read;
  const end = options.range?.end;
  let offset = options.range?.start ?? 0;
  let current = first;
  let failures = 0;
  for (;;) {
    const before = offset;
    try {
      for await (const chunk of current as AsyncIterable<Buffer>) {
        offset += chunk.length;
        yield chunk;
      }
      return;
    } catch (err) {
      if (options.signal.aborted || (err instanceof DatasetError && err.code !== 'DATASET_TIMEOUT')) throw err;
      // Every byte asked for arrived before the connection went: nothing is missing.
      if (end !== undefined && offset >= end) return;
      if (offset > before) failures = 0;
      if (++failures > (options.retries ?? 0)) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new DatasetError('DATASET_INTERRUPTED', `dataset stream from ${describeS3(at)} broke after ${offset} bytes: ${reason}`, {
          cause: err,
        });
      }
      try {
        const next = await store.get(at, { signal: options.signal, range: { start: offset, end }, ifMatch: etag });
        if (next.etag !== undefined && next.etag !== etag) throw changed(at, 'changed while it was being read');
        current = next.body;
        watchIdle(current, at, options.idleTimeoutMs);
      } catch (retryErr) {
        throw retryErr instanceof DatasetError ? retryErr : datasetError(retryErr, at, true);
      }
    }
  }
}

/** An s3 dataset source reading through `provider`'s store (the process's default one unless a test gives another). */
export function createS3Source(provider: S3StoreProvider = loadS3Store): DatasetSource {
  return {
    schemes: ['s3'],
    checkedAtSubmit: true,
    // The endpoint is the operator's setting, never the user's: only the URL's form is checked.
    admit: (url) =>
      Promise.resolve().then(() => {
        location(url);
      }),

    async stat(url: URL, options: OpenOptions): Promise<SourceStat> {
      const at = location(url);
      if (isPrefix(at)) throw prefixNotObject(at);
      const store = await provider();
      try {
        const info = await store.head(at, options.signal);
        return { size: info.size, version: versionOf(info.etag), rangeable: true };
      } catch (err) {
        // A HEAD's 404 has no body to say whether the bucket or the key is missing: ask.
        if (classifyS3Error(err) === 'not-found') {
          const bucketErr = await store.headBucket(at.bucket, options.signal).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (bucketErr !== undefined && classifyS3Error(bucketErr) === 'not-found')
            throw datasetError({ name: 'NoSuchBucket' }, at, false);
        }
        throw datasetError(err, at, false);
      }
    },

    async open(url: URL, options: ReadOptions): Promise<OpenedDataset> {
      const at = location(url);
      if (isPrefix(at)) throw prefixNotObject(at);
      const ifMatch = etagOf(options.version, at);
      const { range } = options;
      if (range && range.end <= range.start) return { stream: Readable.from([]), version: options.version };
      const store = await provider();
      let first: Awaited<ReturnType<S3Store['get']>>;
      try {
        first = await store.get(at, { signal: options.signal, range, ifMatch });
      } catch (err) {
        throw datasetError(err, at, ifMatch !== undefined);
      }
      const etag = first.etag;
      if (ifMatch !== undefined && etag !== ifMatch) {
        first.body.destroy();
        throw changed(at, 'is no longer the version this batch was planned on');
      }
      watchIdle(first.body, at, options.idleTimeoutMs);
      if (etag === undefined) return { stream: first.body, version: undefined };
      const stream = Readable.from(resumable(first.body, { store, at, etag, options }), { objectMode: false });
      return { stream, version: versionOf(etag) };
    },

    /**
     * A prefix (`s3://bucket/dir/`, or `s3://bucket/dir` when no object has that key): its
     * objects in the store's lexical order, without zero-byte objects and `…/` folder markers.
     * A prefix ending in `/` with no object at all is `DATASET_NOT_FOUND`: S3 has no empty folders.
     */
    async list(url: URL, options: OpenOptions): Promise<SourceEntry[] | undefined> {
      const at = location(url);
      const store = await provider();
      if (at.key !== '' && !at.key.endsWith('/')) {
        try {
          await store.head(at, options.signal);
          return undefined;
        } catch (err) {
          if (classifyS3Error(err) !== 'not-found') throw datasetError(err, at, false);
        }
      }
      const prefix = folderPrefix(at.key);
      let objects: Awaited<ReturnType<S3Store['list']>>;
      try {
        objects = await store.list(at.bucket, prefix, { signal: options.signal });
      } catch (err) {
        throw datasetError(err, { bucket: at.bucket, key: prefix }, false);
      }
      // Neither an object nor a prefix: a missing object, as `stat` and `open` report it.
      if (objects.length === 0 && prefix !== at.key) return undefined;
      const entries = objects
        .filter((o) => o.size > 0 && !o.key.endsWith('/'))
        .map((o) => ({
          url: s3Url({ bucket: at.bucket, key: o.key }),
          size: o.size,
          version: o.etag === undefined ? undefined : versionOf(o.etag),
        }));
      if (entries.length === 0) {
        throw new DatasetError('DATASET_NOT_FOUND', `no objects under ${describeS3({ bucket: at.bucket, key: prefix })}`);
      }
      return entries;
    },
  };
}

export const s3Source = createS3Source();
