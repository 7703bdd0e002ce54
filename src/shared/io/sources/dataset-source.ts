/**
 * The dataset-source seam: one plug-in module per URL scheme, registered by one line in
 * `registry.ts`. A source admits a URL at submit (network sources apply the address policy
 * there), tells what an object is (`stat`: size, version, whether byte ranges work), lists a
 * folder's objects where the scheme has folders, and opens an object's bytes, whole or one
 * range, pinned to a version. Decompression and limits are applied on top, once, in
 * `openDataset`, so a source only has to fetch bytes.
 */
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import type { AddressPolicy, Resolver } from '../address-policy.js';

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

/** Bytes `[start, end)` of an object. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ReadOptions extends OpenOptions {
  /** Only these bytes. @defaultValue the whole object */
  range?: ByteRange;
  /**
   * Only this version (from `stat` or an earlier read): the source asks the store to refuse
   * any other (If-Match), and fails with `DATASET_CHANGED` when it is gone.
   */
  version?: string;
}

/** What an object is, without reading it. */
export interface SourceStat {
  /** Bytes as stored (compressed when the object is); undefined when the source cannot tell. */
  size: number | undefined;
  /** See {@link OpenedDataset.version}. */
  version: string | undefined;
  /** Whether `open` can read byte ranges of this version. */
  rangeable: boolean;
}

/** One object of a folder (a directory, an object-store prefix). */
export interface SourceEntry {
  url: string;
  size: number;
  version: string | undefined;
}

export interface DatasetSource {
  /** URL schemes this source reads, without the colon. */
  readonly schemes: readonly string[];
  /**
   * Checks, when a batch is submitted and before anything connects, that this URL may be
   * read. Network sources whose host the user chooses refuse private, loopback and metadata
   * addresses here (and again at connect time); a scheme whose endpoint is the operator's
   * setting (s3) or local (file) has nothing to check.
   */
  admit(url: URL, policy: AddressPolicy, resolver?: Resolver): Promise<void>;
  /**
   * True when `stat` (and `list`) answer fast from a store the operator chose (object storage):
   * a missing dataset is then refused at submit, a 400 instead of a failed batch. Absent for
   * http(s), whose servers are the user's and may be slow or hostile, and for local files,
   * which `batchinfer run` checks itself.
   */
  readonly checkedAtSubmit?: boolean;
  stat(url: URL, options: OpenOptions): Promise<SourceStat>;
  open(url: URL, options: ReadOptions): Promise<OpenedDataset>;
  /**
   * The bytes of `options.range`, whole (fewer when the object is shorter), pinned to
   * `options.version` as `open` is. Where a source has it (local files), split reads use it:
   * a split's range is a few hundred kB, and a stream per split (iterator, destroy) cost more
   * than the read itself.
   */
  readRange?(url: URL, options: ReadOptions & { range: ByteRange }): Promise<Buffer>;
  /**
   * The objects of a folder URL (a directory, a prefix ending in `/`), in lexical order,
   * without empty objects; undefined when the URL names one object. Absent for schemes
   * without folders.
   */
  list?(url: URL, options: OpenOptions): Promise<SourceEntry[] | undefined>;
}
