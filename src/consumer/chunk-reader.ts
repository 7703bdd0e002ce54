/**
 * Where a chunk's records come from: the records the chunk event carries (the streaming path).
 * Every record comes back parsed or as a record error with its line number, so the pipeline
 * after it does not care how the chunk travelled.
 */
import { parseChunk } from '../shared/formats/record-parser.js';
import type { ParsedChunk } from '../shared/formats/record-parser.js';
import type { ChunkData } from '../shared/types.js';

export class ChunkReader {
  /** The chunk's records, parsed with its format and schema. */
  read(chunk: ChunkData, signal?: AbortSignal): Promise<ParsedChunk> {
    signal?.throwIfAborted();
    return Promise.resolve(parseChunk(chunk));
  }
}
