/**
 * Where a chunk's records come from: the records its event carries (the streaming path), or
 * the byte range of the dataset its split names, read here (the split path). Either way the
 * chunk comes back with its raw records and the line number of the first, so the pipeline
 * after it (which parses them) does not care how the chunk travelled. A split's line numbers
 * count from the split's start (plus its `lineBase`) until the batch closes and
 * `split-lines.ts` makes them absolute.
 */
import { DatasetError } from '../shared/errors.js';
import { formatNamed } from '../shared/formats/registry.js';
import type { ChunkData, SplitDescriptor } from '../shared/types.js';
import { readSplit } from './split-reader.js';

/** How splits are read: the same source rules as the producer's. */
export interface ChunkReaderOptions {
  allowedSchemes: readonly string[];
  allowPrivateNetworks: boolean;
  allowedCidrs?: readonly string[];
  /** Retries of a failing read within one attempt. @defaultValue 0 */
  retries?: number;
  /** `MAX_LINE_BYTES`. */
  maxLineBytes: number;
}

/**
 * `strict` fails a CSV split holding a quoted field that spans lines (it cannot be read in
 * ranges); `lenient` reads such lines as malformed rows, to name every line of a chunk that
 * failed for good in its error file.
 */
export type ReadMode = 'strict' | 'lenient';

/** A dataset fault that another attempt may not meet (the network, the server), as a retryable error. */
const TRANSIENT = new Set(['DATASET_UNREACHABLE', 'DATASET_TIMEOUT', 'DATASET_HTTP_ERROR']);
const IDLE_TIMEOUT_MS = 60_000;

function oddQuotes(text: string): boolean {
  let quotes = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) quotes++;
  return quotes % 2 === 1;
}

const describe = (split: SplitDescriptor): string => {
  const url = new URL(split.source);
  return `${url.protocol}//${url.host}${url.pathname} bytes ${split.start}-${split.end}`;
};

/** A chunk with its raw records in hand. */
export interface ReadChunk {
  chunk: ChunkData;
  /**
   * For a split: how many lines of its object it owns (blank lines included, plus its
   * `lineBase`), which places the next split's lines when the batch closes.
   */
  splitLines?: number;
}

export class ChunkReader {
  constructor(private readonly options?: ChunkReaderOptions) {}

  /** The chunk with its records: a streamed chunk as it came, a split's read from the dataset. */
  async read(chunk: ChunkData, signal?: AbortSignal, mode: ReadMode = 'strict'): Promise<ReadChunk> {
    signal?.throwIfAborted();
    const { split } = chunk;
    if (!split) return { chunk };
    const text = await this.readText(split, signal ?? new AbortController().signal);
    if (mode === 'strict' && formatNamed(chunk.format).multiLineRecords) {
      const at = text.records.findIndex(oddQuotes);
      if (at !== -1) {
        throw new DatasetError(
          'DATASET_CSV_MULTILINE',
          `${describe(split)}: line ${split.lineBase + at + 1} of the split opens a quoted field that spans lines; ` +
            'such a CSV cannot be split in byte ranges (gzip it to have it streamed)',
        );
      }
    }
    return {
      chunk: { ...chunk, records: text.records, rejected: text.rejected, firstLine: split.lineBase + 1 },
      splitLines: split.lineBase + text.records.length,
    };
  }

  private async readText(split: SplitDescriptor, signal: AbortSignal): ReturnType<typeof readSplit> {
    const options = this.options;
    if (!options) throw new DatasetError('DATASET_NOT_SPLITTABLE', 'this process does not read splits');
    try {
      return await readSplit(split, {
        signal,
        idleTimeoutMs: IDLE_TIMEOUT_MS,
        allowedSchemes: options.allowedSchemes,
        allowPrivateNetworks: options.allowPrivateNetworks,
        allowedCidrs: options.allowedCidrs ?? [],
        retries: options.retries ?? 0,
        maxLineBytes: options.maxLineBytes,
      });
    } catch (err) {
      // Transient: the attempt fails and is retried (a BatchinferError would fail the chunk for good).
      if (err instanceof DatasetError && TRANSIENT.has(err.code)) throw new Error(`${describe(split)}: ${err.message}`, { cause: err });
      throw err;
    }
  }
}
