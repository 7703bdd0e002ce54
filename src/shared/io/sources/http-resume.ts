/**
 * Reading an HTTP dataset (all of it, or one byte range) through the faults such servers
 * have: a 5xx or 429 answer, a refused or reset connection, a stream cut half-way or stalled.
 * Each is retried with exponential backoff (`retries` in a row without progress, then the
 * batch fails with the last reason). A stream cut half-way is resumed where it stopped, with
 * `Range` and `If-Range` when the server accepts ranges, else by reading again and skipping
 * what was read; either way only when a validator (strong ETag, or Last-Modified) proves it
 * is the same file, so a file replaced meanwhile is never stitched into one dataset. A read
 * pinned to a version (a split planned on it) asks with `If-Match` / `If-Unmodified-Since`
 * and fails with `DATASET_CHANGED` when the file is no longer that version.
 */
import type http from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatasetError, isBatchinferError } from '../../errors.js';
import { skipBytes, takeBytes } from './byte-slices.js';
import type { OpenedDataset, ReadOptions, SourceStat } from './dataset-source.js';

export interface HttpResponse {
  res: http.IncomingMessage;
  /** The URL that answered (after redirects): a resumed read asks it again. */
  url: URL;
}

/** GETs a URL with extra headers, following redirects. */
export type HttpFetch = (url: URL, headers: Record<string, string>) => Promise<HttpResponse>;

/** Statuses worth retrying: the server or something in front of it is busy or failing. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Dataset errors worth retrying: the network, not the request. */
const RETRYABLE_CODES = new Set(['DATASET_UNREACHABLE', 'DATASET_TIMEOUT', 'DATASET_INTERRUPTED', 'DATASET_RETRYABLE_STATUS']);
/** Answers that name what users can fix, under the codes every source uses. */
const FINAL_STATUS_CODES: Record<number, string> = {
  401: 'DATASET_FORBIDDEN',
  403: 'DATASET_FORBIDDEN',
  404: 'DATASET_NOT_FOUND',
  410: 'DATASET_NOT_FOUND',
};
const MAX_DELAY_MS = 10_000;
/** The longest `Retry-After` honoured; a server asking for more is treated as failing. */
const MAX_RETRY_AFTER_MS = 30_000;

interface Validator {
  /** The `If-Range` value: a strong ETag, else Last-Modified. */
  ifRange: string;
  /** The dataset version reported to the caller. */
  version: string;
}

/** The whole file's size: Content-Range's total on a 206, Content-Length on a 200. */
function totalSize(res: http.IncomingMessage): number | undefined {
  const range = /\/(\d+)$/.exec(res.headers['content-range'] ?? '');
  const size = Number(range ? range[1] : res.headers['content-length']);
  return Number.isSafeInteger(size) ? size : undefined;
}

function validatorOf(res: http.IncomingMessage): Validator | undefined {
  const etag = res.headers.etag;
  // A weak ETag promises equivalent content, not identical bytes: useless for ranges.
  if (etag && !etag.startsWith('W/')) return { ifRange: etag, version: `etag:${etag}` };
  const lastModified = res.headers['last-modified'];
  if (lastModified) return { ifRange: lastModified, version: `last-modified:${lastModified}:length:${totalSize(res) ?? '?'}` };
  return undefined;
}

/** Headers that make the server refuse (412) a version other than `version`. */
export function pinHeaders(version: string): Record<string, string> {
  if (version.startsWith('etag:')) return { 'if-match': version.slice('etag:'.length) };
  const lastModified = /^last-modified:(.*):length:[^:]*$/.exec(version)?.[1];
  return lastModified ? { 'if-unmodified-since': lastModified } : {};
}

const where = (url: URL): string => `${url.origin}${url.pathname}`;

function statusError(status: number, url: URL, res: http.IncomingMessage): DatasetError {
  const retryable = RETRYABLE_STATUS.has(status);
  const code = retryable ? 'DATASET_RETRYABLE_STATUS' : (FINAL_STATUS_CODES[status] ?? 'DATASET_HTTP_ERROR');
  const err = new DatasetError(code, `dataset server answered ${status} for ${where(url)}`);
  const after = Number(res.headers['retry-after']);
  if (retryable && Number.isFinite(after) && after >= 0) (err as DatasetError & { retryAfterMs?: number }).retryAfterMs = after * 1000;
  return err;
}

/**
 * The error a failed read is reported with, whatever Node threw. A refusal by policy (a
 * private address, a redirect to another scheme) is rethrown as it is: never retried.
 */
function asDatasetError(err: unknown, url: URL, received: number): DatasetError {
  if (err instanceof DatasetError) return err;
  if (isBatchinferError(err)) throw err;
  const message = err instanceof Error ? err.message : String(err);
  return new DatasetError('DATASET_INTERRUPTED', `dataset stream from ${url.host} broke after ${received} bytes: ${message}`, {
    cause: err,
  });
}

/** Reports a retryable status under the code users know, once retries are spent. */
function finalError(err: DatasetError, retries: number): DatasetError {
  const code = err.code === 'DATASET_RETRYABLE_STATUS' ? 'DATASET_HTTP_ERROR' : err.code;
  const suffix = retries > 0 ? ` (gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'})` : '';
  return new DatasetError(code, `${err.message}${suffix}`, { cause: err.cause });
}

class RetryBudget {
  private failures = 0;

  constructor(
    private readonly retries: number,
    private readonly baseDelayMs: number,
    private readonly signal: AbortSignal,
  ) {}

  /** Waits before the next try, or throws `err` when the budget is spent or `err` is final. */
  async next(err: DatasetError): Promise<void> {
    if (!RETRYABLE_CODES.has(err.code) || this.signal.aborted) throw finalError(err, 0);
    this.failures++;
    if (this.failures > this.retries) throw finalError(err, this.retries);
    const backoff = Math.min(this.baseDelayMs * 2 ** (this.failures - 1), MAX_DELAY_MS);
    const retryAfter = (err as DatasetError & { retryAfterMs?: number }).retryAfterMs ?? 0;
    if (retryAfter > MAX_RETRY_AFTER_MS) throw finalError(err, this.failures - 1);
    await sleep(Math.max(backoff, retryAfter), undefined, { signal: this.signal });
  }

  /** Progress was made: the next failure starts a new count. */
  reset(): void {
    this.failures = 0;
  }
}

/** Stops a body that sends nothing for `idleTimeoutMs`, not only a server slow to answer. */
function watchIdle(res: http.IncomingMessage, url: URL, idleTimeoutMs: number): void {
  res.setTimeout(idleTimeoutMs, () => {
    res.destroy(new DatasetError('DATASET_TIMEOUT', `dataset stream from ${url.host} stalled for ${idleTimeoutMs} ms`));
  });
}

const changedError = (url: URL, how: string): DatasetError =>
  new DatasetError('DATASET_CHANGED', `dataset at ${where(url)} ${how}; not mixing two versions in one batch`);

/** The `Range` header for the bytes from `offset` to `end` (exclusive; undefined = to the end). */
const rangeHeader = (offset: number, end: number | undefined): Record<string, string> =>
  end === undefined ? (offset > 0 ? { range: `bytes=${offset}-` } : {}) : { range: `bytes=${offset}-${end - 1}` };

/**
 * What a dataset URL is: its size, version and whether its bytes can be read by range (the
 * server answers a one-byte `Range` with 206 and gives a strong validator). One GET of one
 * byte, not a HEAD: pre-signed URLs are often signed for GET only.
 */
export async function statHttp(start: URL, options: ReadOptions, fetch: HttpFetch): Promise<SourceStat> {
  const budget = new RetryBudget(options.retries ?? 0, options.retryDelayMs ?? 500, options.signal);
  for (;;) {
    try {
      const { res, url } = await fetch(start, { range: 'bytes=0-0' });
      // Only the headers are wanted: a server ignoring the range sends the whole body, which
      // must not be drained (a slow server would hold the connection for the whole file).
      res.destroy();
      const status = res.statusCode ?? 0;
      // An empty file: no byte 0 to send.
      if (status === 416 && /\/0$/.test(res.headers['content-range'] ?? '')) {
        return { size: 0, version: validatorOf(res)?.version, rangeable: false };
      }
      if (status !== 200 && status !== 206) throw statusError(status, url, res);
      const version = validatorOf(res)?.version;
      const size = totalSize(res);
      return { size, version, rangeable: status === 206 && version !== undefined && size !== undefined };
    } catch (err) {
      await budget.next(asDatasetError(err, start, 0));
    }
  }
}

/**
 * Opens an HTTP dataset whose body survives the faults above: the whole file (the first
 * answer must be 200), or `options.range` of it (206). `fetch` issues the GETs (following
 * redirects).
 */
export async function openResumable(start: URL, options: ReadOptions, fetch: HttpFetch): Promise<OpenedDataset> {
  const budget = new RetryBudget(options.retries ?? 0, options.retryDelayMs ?? 500, options.signal);
  const from = options.range?.start ?? 0;
  const end = options.range?.end;
  const pin = options.version === undefined ? {} : pinHeaders(options.version);

  let first: HttpResponse;
  let skip = 0;
  for (;;) {
    try {
      first = await fetch(start, { ...pin, ...rangeHeader(from, end) });
      const status = first.res.statusCode ?? 0;
      if (status === 206 && options.range && (first.res.headers['content-range'] ?? '').startsWith(`bytes ${from}-`)) break;
      // A server that ignores ranges sends the whole file: skip to the range.
      if (status === 200) {
        skip = from;
        break;
      }
      first.res.resume();
      if (status === 412 || (status === 416 && options.range)) {
        throw changedError(first.url, 'is no longer the version this batch was planned on');
      }
      throw statusError(status, first.url, first.res);
    } catch (err) {
      await budget.next(asDatasetError(err, start, 0));
    }
  }

  const url = first.url;
  const validator = validatorOf(first.res);
  if (options.version !== undefined && validator?.version !== options.version) {
    first.res.destroy();
    throw changedError(url, 'is no longer the version this batch was planned on');
  }
  const acceptsRanges = first.res.headers['accept-ranges'] === 'bytes' || first.res.statusCode === 206;
  watchIdle(first.res, url, options.idleTimeoutMs);

  /** Asks for the bytes from `offset` on (to the range's end), proving it is the same file. */
  async function reopen(offset: number, v: Validator): Promise<AsyncIterable<Buffer>> {
    for (;;) {
      try {
        const conditions = options.version === undefined ? { 'if-range': v.ifRange } : pin;
        const headers: Record<string, string> = acceptsRanges ? { ...rangeHeader(offset, end), ...conditions } : pin;
        const { res } = await fetch(url, headers);
        const status = res.statusCode ?? 0;
        if (status === 206 && (res.headers['content-range'] ?? '').startsWith(`bytes ${offset}-`)) {
          watchIdle(res, url, options.idleTimeoutMs);
          return res;
        }
        if (status === 200) {
          // The whole file again: an If-Range whose validator no longer matches, or a server
          // that ignores ranges. Only the same version may be skipped into.
          if (validatorOf(res)?.version !== v.version) {
            res.destroy();
            throw changedError(url, 'changed while it was being read');
          }
          watchIdle(res, url, options.idleTimeoutMs);
          return skipBytes(res, offset);
        }
        res.resume();
        if (status === 412) throw changedError(url, 'changed while it was being read');
        if (status === 206) throw new DatasetError('DATASET_INTERRUPTED', `dataset server sent the wrong range for ${where(url)}`);
        throw statusError(status, url, res);
      } catch (err) {
        await budget.next(asDatasetError(err, url, offset));
      }
    }
  }

  async function* body(): AsyncGenerator<Buffer> {
    let current: AsyncIterable<Buffer> = skip > 0 ? skipBytes(first.res, skip) : first.res;
    // Absolute offset of the next byte.
    let offset = from;
    for (;;) {
      const before = offset;
      try {
        for await (const chunk of current) {
          offset += chunk.length;
          yield chunk;
        }
        return;
      } catch (err) {
        const failure = asDatasetError(err, url, offset - from);
        if (options.signal.aborted || !RETRYABLE_CODES.has(failure.code)) throw failure;
        if (!validator) {
          throw new DatasetError(
            failure.code,
            `${failure.message}; cannot resume: the server gives no ETag or Last-Modified to prove the file unchanged`,
            { cause: err },
          );
        }
        if (offset > before) budget.reset();
        await budget.next(failure);
        current = await reopen(offset, validator);
      }
    }
  }

  const bytes = takeBytes(body(), end === undefined ? undefined : end - from);
  return { stream: Readable.from(bytes, { objectMode: false }), version: validator?.version };
}
