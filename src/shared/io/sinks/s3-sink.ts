/**
 * `s3://bucket/prefix` outputs. Every object is written whole (one PUT, or a multipart upload
 * that appears only once complete), so a retried chunk replaces its part and readers never
 * see half of one; there is nothing to clean up after a crash. A batch may only write below
 * the process's `OUTPUT_URL`: same bucket, key prefix on `/` boundaries.
 */
import { randomBytes } from 'node:crypto';
import { OutputError } from '../../errors.js';
import { redactUrl } from '../../observability/redact.js';
import { loadS3Store } from '../s3/load-s3-store.js';
import type { S3StoreProvider } from '../s3/load-s3-store.js';
import { classifyS3Error, s3Reason } from '../s3/s3-errors.js';
import { folderPrefix, keyBelow, parseS3Url, s3Url } from '../s3/s3-location.js';
import type { S3Location } from '../s3/s3-location.js';
import type { S3Store } from '../s3/s3-store.js';
import type { OutputSink, SinkScheme } from './output-sink.js';

/** A folder's location: its key without a trailing `/`. */
function folderOf(url: URL | string): S3Location {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  const at = parseS3Url(parsed, (problem) => new OutputError(`output location ${redactUrl(parsed.href)}: ${problem}`));
  return { bucket: at.bucket, key: at.key.replace(/\/$/, '') };
}

/** The canonical URL of a folder: no trailing slash, also for a whole bucket. */
const folderUrl = (at: S3Location): string => (at.key === '' ? `s3://${at.bucket}` : s3Url(at));

const notWritable = (url: string, why: string, cause: unknown): OutputError =>
  new OutputError(`output location ${url} is not writable: ${why}`, { code: 'OUTPUT_NOT_WRITABLE', cause });

export class S3Sink implements OutputSink {
  readonly url: string;

  constructor(
    private readonly folder: S3Location,
    private readonly provider: S3StoreProvider,
  ) {
    this.url = folderUrl(folder);
  }

  private at(name: string): S3Location {
    return { bucket: this.folder.bucket, key: keyBelow(this.folder.key, name) };
  }

  /**
   * Runs one request. A missing bucket or refused credentials will not change by retrying: an
   * `OutputError` (`OUTPUT_NOT_WRITABLE`), which fails the chunk at once; anything else (the
   * store unreachable or failing after the SDK's retries) is thrown as it is, and retried.
   */
  private async request<T>(run: (store: S3Store) => Promise<T>): Promise<T> {
    try {
      return await run(await this.provider());
    } catch (err) {
      const kind = classifyS3Error(err);
      if (kind === 'no-bucket' || kind === 'forbidden') throw notWritable(this.url, s3Reason(err), err);
      throw err;
    }
  }

  write(name: string, content: string): Promise<void> {
    return this.request((store) => store.put(this.at(name), content));
  }

  /** S3 answers a delete of a missing key with success: removing twice is harmless. */
  remove(name: string): Promise<void> {
    return this.request((store) => store.delete(this.at(name)));
  }

  read(name: string): Promise<string | undefined> {
    return this.request((store) => store.getText(this.at(name)));
  }

  async list(): Promise<string[]> {
    const prefix = folderPrefix(this.folder.key);
    const objects = await this.request((store) => store.list(this.folder.bucket, prefix, { delimiter: '/' }));
    return objects.map((o) => o.key.slice(prefix.length)).filter((name) => name !== '' && !name.startsWith('.'));
  }

  /** Writes are atomic: an interrupted multipart upload never becomes an object (a bucket lifecycle rule reclaims its parts). */
  discardIncomplete(): Promise<void> {
    return Promise.resolve();
  }
}

/** The s3 output scheme, on `provider`'s store (the process's default one unless a test gives another). */
export function createS3SinkScheme(provider: S3StoreProvider = loadS3Store): SinkScheme {
  return {
    schemes: ['s3'],
    normalise: (url) => folderUrl(folderOf(url)),
    contains(root, candidate) {
      const r = folderOf(root);
      const c = folderOf(candidate);
      return r.bucket === c.bucket && (r.key === '' || c.key === r.key || c.key.startsWith(`${r.key}/`));
    },
    child: (url, name) => folderUrl({ ...folderOf(url), key: keyBelow(folderOf(url).key, name) }),
    open: (url) => new S3Sink(folderOf(url), provider),
    /**
     * Writes and deletes a hidden probe object where the batch folders will be: a missing
     * bucket, a read-only credential or an unreachable endpoint fail here, at submit or start.
     * A consumer needs both (a retried chunk removes an error file it no longer has).
     */
    async checkWritable(url) {
      const folder = folderOf(url);
      const probe = { bucket: folder.bucket, key: keyBelow(folder.key, `.batchinfer-write-check-${randomBytes(6).toString('hex')}`) };
      try {
        const store = await provider();
        await store.put(probe, '');
        await store.delete(probe);
      } catch (err) {
        const kind = classifyS3Error(err);
        throw notWritable(url, kind === 'no-bucket' ? `bucket '${folder.bucket}' does not exist` : s3Reason(err), err);
      }
    },
  };
}

export const s3SinkScheme = createS3SinkScheme();
