/**
 * What can be known about a batch before it is accepted: the output location takes writes,
 * and, where the store answers fast and is the operator's (object storage), the dataset
 * exists. A typo is then a 400 naming the field, not a batch that fails an hour later. HTTP
 * datasets are not probed: their servers are the user's, and may be slow or hostile.
 */
import { DatasetError, OutputError, ValidationError } from '../shared/errors.js';
import type { Config } from '../shared/config/config.js';
import { checkOutputWritable } from '../shared/io/sinks/registry.js';
import type { DatasetSource, OpenOptions } from '../shared/io/sources/dataset-source.js';
import { sourceFor } from '../shared/io/sources/registry.js';
import type { BatchRequest } from '../shared/types.js';

/** How long a location that took a probe write is trusted, so a burst of submissions probes it once. */
const WRITABLE_FOR_MS = 60_000;
/** A dataset probe that takes longer is left to the ingest: the submission is answered anyway. */
const PROBE_TIMEOUT_MS = 10_000;
/** Answers that will not change by retrying, and that the user can fix. */
const FINAL_CODES = new Set(['DATASET_NOT_FOUND', 'DATASET_FORBIDDEN']);
const MAX_REMEMBERED = 1000;

/** Whether the dataset exists: one object, or a folder with at least one. */
async function probeDataset(source: DatasetSource, url: URL, options: OpenOptions): Promise<void> {
  try {
    await source.stat(url, options);
  } catch (err) {
    // Not an object: perhaps a folder (a prefix, a directory).
    if (!(err instanceof DatasetError) || err.code !== 'DATASET_NOT_FOUND' || !source.list) throw err;
    const entries = await source.list(url, options);
    if (entries === undefined) throw err;
    if (entries.length === 0) throw new DatasetError('DATASET_NOT_FOUND', 'the dataset folder holds no non-empty file');
  }
}

export class BatchChecks {
  private readonly writableUntil = new Map<string, number>();

  constructor(
    private readonly config: Pick<Config, 'datasetAllowedSchemes' | 'datasetAllowPrivateNetworks' | 'datasetAllowedCidrs'>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Both checks, at once, as a submission runs them: `ValidationError` naming `datasetUrl`
   * or `outputUrl` (the dataset's when both fail, so the answer does not depend on timing).
   */
  async atSubmit(request: BatchRequest): Promise<void> {
    const [dataset, output] = await Promise.allSettled([
      this.dataset(request.datasetUrl),
      this.output(request.outputUrl).catch(asFieldError('outputUrl')),
    ]);
    if (dataset.status === 'rejected') throw dataset.reason;
    if (output.status === 'rejected') throw output.reason;
  }

  /** Throws `OutputError` (`OUTPUT_NOT_WRITABLE`) when the location refuses a write. */
  async output(location: string): Promise<void> {
    if ((this.writableUntil.get(location) ?? 0) > this.now()) return;
    await checkOutputWritable(location);
    if (this.writableUntil.size >= MAX_REMEMBERED) this.writableUntil.clear();
    this.writableUntil.set(location, this.now() + WRITABLE_FOR_MS);
  }

  /**
   * A missing or forbidden dataset of a source that is checked at submit is a 400 with the
   * dataset's code; anything else (slow, unreachable) is left to the ingest to retry or report.
   */
  private async dataset(datasetUrl: string): Promise<void> {
    const url = new URL(datasetUrl);
    const source = sourceFor(url, this.config.datasetAllowedSchemes);
    if (!source.checkedAtSubmit) return;
    const options: OpenOptions = {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      idleTimeoutMs: PROBE_TIMEOUT_MS,
      allowPrivateNetworks: this.config.datasetAllowPrivateNetworks,
      allowedCidrs: this.config.datasetAllowedCidrs,
    };
    try {
      await probeDataset(source, url, options);
    } catch (err) {
      if (err instanceof DatasetError && FINAL_CODES.has(err.code)) throw new ValidationError('datasetUrl', err.message, err.code);
    }
  }
}

/** An `OutputError` as a 400 naming the field, with its code (`OUTPUT_NOT_WRITABLE`). */
const asFieldError =
  (field: string) =>
  (err: unknown): never => {
    if (err instanceof OutputError) throw new ValidationError(field, err.message, err.code);
    throw err;
  };
