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
  /** Names directly under the sink (never a write in progress). */
  list(): Promise<string[]>;
  /**
   * Removes what writes interrupted by a crash left behind (a consumer SIGKILLed mid-write);
   * a no-op for stores whose writes are atomic (a single PUT).
   */
  discardIncomplete(): Promise<void>;
}
