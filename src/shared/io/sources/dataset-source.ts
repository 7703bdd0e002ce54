/**
 * Dataset sources: one small plug-in per URL scheme, each turning a URL into a stream of
 * the dataset's raw bytes. Decompression and limits are applied on top, once, in
 * {@link openDataset}, so a new source (s3://, gs://) only has to fetch bytes.
 */
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';

export interface OpenOptions {
  /** Aborts the fetch (batch cancelled, producer shutting down). */
  signal: AbortSignal;
  /** Gives up when no byte arrives for this long. */
  idleTimeoutMs: number;
  /** Allows loopback, private and link-local addresses (refused by default: SSRF). */
  allowPrivateNetworks: boolean;
  /** Private addresses (IPs, CIDRs) allowed all the same (`DATASET_ALLOWED_CIDRS`). */
  allowedCidrs?: readonly string[];
  /**
   * Resolves host names at connect time. @defaultValue `dns.lookup`. Tests pass a resolver
   * whose answer changes between calls, to show that DNS rebinding is refused.
   */
  lookup?: LookupFunction;
  /**
   * Retries of a failing read (server error, connection refused or cut mid-stream), for the
   * sources that can retry; the count restarts whenever a retry makes progress. @defaultValue 0
   */
  retries?: number;
  /** Delay before the first retry, doubling after that (capped at 10 s). @defaultValue 500 */
  retryDelayMs?: number;
}

export interface OpenedDataset {
  stream: Readable;
  /**
   * What identifies this exact content (a strong ETag, Last-Modified and length, a file's
   * mtime and size), so a resumed read can tell the same file from a changed one; undefined
   * when the source offers nothing usable.
   */
  version: string | undefined;
}

export interface DatasetSource {
  /** URL schemes this source reads, without the colon. */
  readonly schemes: readonly string[];
  open(url: URL, options: OpenOptions): Promise<OpenedDataset>;
}
