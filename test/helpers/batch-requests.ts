/**
 * Batch requests and chunk payloads as the producer would make them, for tests that seed
 * Redis or the chunk queue directly. Each test names only the fields its case is about.
 */
import type { BatchRequest, ChunkData } from '../../src/shared/types.js';

/** A valid request for the `sum` model over a JSONL file; `fields` override the defaults. */
export function batchRequest(fields: Partial<BatchRequest> = {}): BatchRequest {
  return {
    datasetUrl: 'file:///d.jsonl',
    format: 'jsonl',
    model: 'sum',
    chunkSize: 10,
    outputUrl: 'file:///tmp/bi-test-out',
    labels: {},
    ...fields,
  };
}

/**
 * Chunk `chunkIndex` of a JSONL batch for the `sum` model; unless given, `firstLine` is where
 * the chunk starts when every chunk holds as many records as this one.
 */
export function chunkData(
  fields: Pick<ChunkData, 'batchId' | 'chunkIndex' | 'outputUrl'> & { records: NonNullable<ChunkData['records']> } & Partial<ChunkData>,
): ChunkData {
  return { firstLine: 1 + fields.chunkIndex * fields.records.length, format: 'jsonl', model: 'sum', ...fields };
}
