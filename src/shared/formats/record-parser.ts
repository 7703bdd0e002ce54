/**
 * Parses a chunk's raw records with its format and schema. A record that cannot be parsed is
 * a record error with its code and line number, never an exception: one bad line must not
 * fail the other records of its chunk.
 */
import type { ChunkData, ParsedRecord, RecordError } from '../types.js';
import { DEFAULT_SCHEMA, isFault } from './record-format.js';
import type { RecordSchema } from './record-format.js';
import { formatNamed } from './registry.js';

export interface ParsedChunk {
  records: ParsedRecord[];
  errors: RecordError[];
  /**
   * For a split: how many lines of its object it owns (blank lines included, plus its
   * `lineBase`), which places the next split's lines when the batch closes.
   */
  splitLines?: number;
}

/** The chunk's schema, its unset parts defaulted. */
export const chunkSchema = (chunk: Pick<ChunkData, 'schema'>): RecordSchema => ({ ...DEFAULT_SCHEMA, ...chunk.schema });

/** `text.trim() === ''`, without trimming lines that start with a visible ASCII character (nearly all). */
function isBlank(text: string): boolean {
  const first = text.charCodeAt(0);
  if (first > 32 && first < 127) return false;
  return text.trim() === '';
}

export function parseChunk(chunk: ChunkData): ParsedChunk {
  const records: ParsedRecord[] = [];
  const errors: RecordError[] = [];
  const rejected = chunk.rejected?.length ? new Map(chunk.rejected.map((r) => [r.index, r.error])) : undefined;
  const parse = formatNamed(chunk.format).recordParser(chunkSchema(chunk), chunk.header);
  const texts = chunk.records ?? [];
  const lines = chunk.lines;
  for (let i = 0; i < texts.length; i++) {
    const line = lines?.[i] ?? chunk.firstLine + i;
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
    }
  }
  return { records, errors };
}
