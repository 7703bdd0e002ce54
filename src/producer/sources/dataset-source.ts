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
}

export interface DatasetSource {
  /** URL schemes this source reads, without the colon. */
  readonly schemes: readonly string[];
  open(url: URL, options: OpenOptions): Promise<Readable>;
}
