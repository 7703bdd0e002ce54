/**
 * Output sinks: where parts, error files and manifests go. One small plug-in per URL
 * scheme; every write is whole (a retried chunk replaces its part, never appends to it).
 */
export interface OutputSink {
  /** The batch folder's URL, for status and manifests. */
  readonly url: string;
  /** Writes `name` (relative to the sink) whole, replacing any earlier version. */
  write(name: string, content: string): Promise<void>;
  /** Removes `name` if it exists. */
  remove(name: string): Promise<void>;
  /** Reads `name`, or undefined when it does not exist. */
  read(name: string): Promise<string | undefined>;
  /** Names directly under the sink. */
  list(): Promise<string[]>;
}
