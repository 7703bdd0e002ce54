/**
 * The output seam. An **output scheme** (`file`, `s3`) is one plug-in module registered by one
 * line in `registry.ts`: it normalises locations, knows its own containment rule (a batch may
 * only write below the process's `OUTPUT_URL`), checks a location is writable, and opens a
 * {@link OutputSink} on one batch folder. Every write is whole: a retried chunk replaces its
 * part, never appends to it.
 */
export interface OutputSink {
  /** The folder's URL, for status and manifests. */
  readonly url: string;
  /** Writes `name` (relative to the sink) whole, replacing any earlier version. */
  write(name: string, content: string): Promise<void>;
  /** Removes `name` if it exists. */
  remove(name: string): Promise<void>;
  /** Reads `name`, or undefined when it does not exist. */
  read(name: string): Promise<string | undefined>;
  /** Names directly under the sink (never a write in progress). */
  list(): Promise<string[]>;
  /**
   * Removes what writes interrupted by a crash left behind (a consumer SIGKILLed mid-write);
   * a no-op for stores whose writes are atomic (a single PUT).
   */
  discardIncomplete(): Promise<void>;
}

export interface SinkScheme {
  /** URL schemes without the colon (`file`). */
  readonly schemes: readonly string[];
  /**
   * The canonical URL of a location of this scheme: no trailing slash, nothing that could
   * hide where it points. Throws `OutputError` for one that cannot be used.
   */
  normalise(url: URL): string;
  /**
   * True when `candidate` is `root` or lies below it, as the store resolves names (for files:
   * `..` and symbolic links followed). Both are normalised URLs of this scheme.
   */
  contains(root: string, candidate: string): boolean;
  /** The URL of `name` directly below the folder `url` (both normalised). */
  child(url: string, name: string): string;
  /** A sink writing into the folder `url` (created as needed). */
  open(url: string): OutputSink;
  /**
   * Checks now that outputs can be written below `url` (exists or can be created, accepts
   * writes), so a typo fails at submit or start instead of a batch an hour later. Throws
   * `OutputError` with code `OUTPUT_NOT_WRITABLE`.
   */
  checkWritable(url: string): Promise<void>;
}
