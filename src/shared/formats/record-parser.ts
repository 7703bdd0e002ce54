/**
 * Parses a chunk's raw records with its format and schema. A record that cannot be parsed is
 * a record error with its code and line number, never an exception: one bad line must not
 * fail the other records of its chunk.
 */
import type { ChunkData, ParsedRecord, RecordError } from '../types.js';
import { DEFAULT_SCHEMA, isFault } from './record-format.js';
import type { RecordParser, RecordSchema } from './record-format.js';
import { formatNamed } from './registry.js';

export interface ParsedChunk {
  records: ParsedRecord[];
  errors: RecordError[];
}

/** The chunk's schema, its unset parts defaulted. */
export const chunkSchema = (chunk: Pick<ChunkData, 'schema'>): RecordSchema => ({ ...DEFAULT_SCHEMA, ...chunk.schema });

/** `text.trim() === ''`, without trimming lines that start with a visible ASCII character (nearly all). */
function isBlank(text: string): boolean {
  const first = text.charCodeAt(0);
  if (first > 32 && first < 127) return false;
  return text.trim() === '';
}

/**
 * Parses a chunk's raw records a few at a time, in line order: the pipeline parses, scores
 * and serialises one model batch before it parses the next, so a record's objects die young
 * instead of living, all 60,000 of a large split, until the part is written (their garbage
 * collection was a quarter of the consumer's CPU).
 */
export class RecordCursor {
  private next = 0;
  private readonly texts: readonly string[];
  private readonly rejected: Map<number, string> | undefined;
  private readonly parse: RecordParser;

  constructor(private readonly chunk: ChunkData) {
    this.texts = chunk.records ?? [];
    this.rejected = chunk.rejected?.length ? new Map(chunk.rejected.map((r) => [r.index, r.error])) : undefined;
    this.parse = formatNamed(chunk.format).recordParser(chunkSchema(chunk), chunk.header);
  }

  /** Lines not yet parsed. */
  get remaining(): number {
    return this.texts.length - this.next;
  }

  /**
   * Parses on until `records` holds `max` records or the lines end; bad lines go to `errors`
   * (in line order). Returns how many records it added.
   */
  take(max: number, records: ParsedRecord[], errors: RecordError[]): number {
    const { texts, rejected, parse } = this;
    const lines = this.chunk.lines;
    const firstLine = this.chunk.firstLine;
    let added = 0;
    while (added < max && this.next < texts.length) {
      const i = this.next++;
      const line = lines?.[i] ?? firstLine + i;
      const refusal = rejected?.get(i);
      if (refusal !== undefined) {
        errors.push({ line, code: 'RECORD_TOO_LONG', error: refusal });
        continue;
      }
      const text = texts[i] as string;
      if (isBlank(text)) continue; // blank lines are not records
      const parsed = parse(text, line);
      if (isFault(parsed)) {
        const error: RecordError = { line, code: parsed.code, error: parsed.error };
        if (parsed.id !== undefined) error.id = parsed.id;
        errors.push(error);
      } else {
        // The parser's own object, which carries the line it was given: no second object per record.
        records.push(parsed as ParsedRecord);
        added++;
      }
    }
    return added;
  }
}

/** Every record of the chunk at once (a failed chunk's error file, tests). */
export function parseChunk(chunk: ChunkData): ParsedChunk {
  const records: ParsedRecord[] = [];
  const errors: RecordError[] = [];
  new RecordCursor(chunk).take(Infinity, records, errors);
  return { records, errors };
}
