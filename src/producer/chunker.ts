/**
 * Groups raw records into chunks of `chunkSize` records (fewer when a chunk would exceed
 * `maxChunkChars`, so one job's payload stays bounded whatever the line lengths).
 */
import type { RecordSchema } from '../shared/formats/record-format.js';
import type { ChunkData, DatasetFormat } from '../shared/types.js';
import type { RawRecord } from '../shared/formats/record-splitter.js';

export interface ChunkerOptions {
  batchId: string;
  chunkSize: number;
  maxChunkChars: number;
  format: DatasetFormat;
  header?: string[];
  schema?: Partial<RecordSchema> | undefined;
  model: string;
  outputUrl: string;
}

export class Chunker {
  private records: string[] = [];
  private lines: number[] = [];
  private rejected: { index: number; error: string }[] = [];
  private chars = 0;
  private nextIndex = 0;
  private currentRecords = 0;
  /** Records seen so far, blank lines excluded (they are not records). */
  recordCount = 0;
  /** Records in the chunk last returned. */
  flushedRecords = 0;

  constructor(private readonly options: ChunkerOptions) {}

  /** Number of chunks emitted so far. */
  get chunkCount(): number {
    return this.nextIndex;
  }

  /** Adds a record; returns the previous chunk when this record does not fit in it. */
  add(record: RawRecord): ChunkData | undefined {
    const n = this.records.length;
    const full = n >= this.options.chunkSize || (n > 0 && this.chars + record.text.length > this.options.maxChunkChars);
    const done = full ? this.flush() : undefined;
    if (record.rejected) this.rejected.push({ index: this.records.length, error: record.rejected });
    if (record.rejected || record.text.trim() !== '') {
      this.recordCount++;
      this.currentRecords++;
    }
    this.records.push(record.text);
    this.lines.push(record.line);
    this.chars += record.text.length;
    return done;
  }

  /** Emits the partial chunk, if any. */
  flush(): ChunkData | undefined {
    if (this.records.length === 0) return undefined;
    const firstLine = this.lines[0] ?? 1;
    const consecutive = this.lines.every((line, i) => line === firstLine + i);
    const chunk: ChunkData = {
      batchId: this.options.batchId,
      chunkIndex: this.nextIndex++,
      firstLine,
      records: this.records,
      format: this.options.format,
      model: this.options.model,
      outputUrl: this.options.outputUrl,
    };
    if (!consecutive) chunk.lines = this.lines;
    if (this.rejected.length > 0) chunk.rejected = this.rejected;
    if (this.options.header) chunk.header = this.options.header;
    if (this.options.schema) chunk.schema = this.options.schema;
    this.records = [];
    this.lines = [];
    this.rejected = [];
    this.chars = 0;
    this.flushedRecords = this.currentRecords;
    this.currentRecords = 0;
    return chunk;
  }
}
