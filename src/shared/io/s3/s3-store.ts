/**
 * The one module that talks to the AWS SDK: the S3 requests the dataset source and the output
 * sink make. It is imported lazily (`loadS3Store`), because the SDK is heavy: a process that
 * never touches `s3://` never loads it. Configuration is the SDK's own (default credential
 * chain, `AWS_REGION`, `AWS_ENDPOINT_URL_S3`), plus `S3_FORCE_PATH_STYLE`; throttling and
 * server errors are retried by the SDK's adaptive retry mode, never by hand.
 */
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { readStorageConfig } from '../../config/config.js';
import type { S3Location } from './s3-location.js';

/** Parts larger than this are uploaded in parts (multipart), so a network fault retries one part, not all. */
export const MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024;
/** The multipart part size (S3's minimum is 5 MiB); at most `UPLOAD_QUEUE` parts are buffered at once. */
const PART_SIZE_BYTES = 8 * 1024 * 1024;
const UPLOAD_QUEUE = 4;

export interface S3ObjectInfo {
  size: number;
  /** The ETag, quotes included, as `If-Match` takes it. */
  etag: string;
}

export interface S3Body {
  body: Readable;
  etag: string | undefined;
}

export interface S3ListedObject {
  key: string;
  size: number;
  etag: string | undefined;
}

export interface GetOptions {
  signal?: AbortSignal | undefined;
  /** Bytes `[start, end)`; end undefined = to the end of the object. */
  range?: { start: number; end: number | undefined } | undefined;
  /** Refuse any other version (412). */
  ifMatch?: string | undefined;
}

/** Connect and idle limits of one request; the SDK retries after either. */
const HANDLER = { connectionTimeout: 10_000, socketTimeout: 120_000 };

/** An S3 client as batchinfer uses it. `overrides` are for tests that talk to a second local store. */
export function createS3Client(overrides: S3ClientConfig = {}): S3Client {
  const { s3ForcePathStyle } = readStorageConfig();
  return new S3Client({
    forcePathStyle: s3ForcePathStyle,
    retryMode: 'adaptive',
    // A bucket in another region than AWS_REGION still works on AWS.
    followRegionRedirects: true,
    requestHandler: HANDLER,
    ...overrides,
  });
}

export class S3Store {
  constructor(private readonly client: S3Client) {}

  async head(at: S3Location, signal?: AbortSignal): Promise<S3ObjectInfo> {
    const out = await this.client.send(new HeadObjectCommand({ Bucket: at.bucket, Key: at.key }), { abortSignal: signal });
    return { size: out.ContentLength ?? 0, etag: out.ETag ?? '' };
  }

  /** Throws the SDK's error (404 `NotFound`, 403) when the bucket cannot be used. */
  async headBucket(bucket: string, signal?: AbortSignal): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
  }

  async get(at: S3Location, options: GetOptions = {}): Promise<S3Body> {
    const { range } = options;
    const out = await this.client.send(
      new GetObjectCommand({
        Bucket: at.bucket,
        Key: at.key,
        ...(range ? { Range: `bytes=${range.start}-${range.end === undefined ? '' : range.end - 1}` } : {}),
        ...(options.ifMatch ? { IfMatch: options.ifMatch } : {}),
      }),
      { abortSignal: options.signal },
    );
    return { body: out.Body as Readable, etag: out.ETag };
  }

  /** The object's text, or undefined when there is no such key. */
  async getText(at: S3Location): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: at.bucket, Key: at.key }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  /**
   * Every object under `prefix`, in the store's (lexical, UTF-8 byte) order; with `delimiter`,
   * only those directly under it.
   */
  async list(bucket: string, prefix: string, options: { signal?: AbortSignal; delimiter?: string } = {}): Promise<S3ListedObject[]> {
    const objects: S3ListedObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, Delimiter: options.delimiter }),
        { abortSignal: options.signal },
      );
      for (const o of page.Contents ?? []) if (o.Key !== undefined) objects.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  /** Writes an object whole: one PUT, or a multipart upload past {@link MULTIPART_THRESHOLD_BYTES} (visible only once complete). */
  async put(at: S3Location, content: string | Buffer): Promise<void> {
    const body = typeof content === 'string' ? Buffer.from(content) : content;
    const params = { Bucket: at.bucket, Key: at.key, Body: body };
    if (body.length <= MULTIPART_THRESHOLD_BYTES) {
      // An explicit length: the SDK cannot infer 0 for an empty body, and warns on the console.
      await this.client.send(new PutObjectCommand({ ...params, ContentLength: body.length }));
      return;
    }
    await new Upload({ client: this.client, params, partSize: PART_SIZE_BYTES, queueSize: UPLOAD_QUEUE, leavePartsOnError: false }).done();
  }

  async delete(at: S3Location): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: at.bucket, Key: at.key }));
  }
}

let shared: S3Store | undefined;

/** The process's store, on the default client (made on first use). */
export function defaultS3Store(): S3Store {
  shared ??= new S3Store(createS3Client());
  return shared;
}
