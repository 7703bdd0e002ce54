/**
 * Parses a chunk's raw records into `{id, features}`. A record that cannot be parsed is a
 * record error with its line number, never an exception: one bad line must not fail the
 * other records of its chunk.
 */
import { parseCsvRow } from './csv-row.js';
import type { ChunkData, ParsedRecord, RecordError } from '../types.js';

export interface ParsedChunk {
  records: ParsedRecord[];
  errors: RecordError[];
}

type Parsed = { id: string | number; features: number[] } | { error: string; id?: string | number };

const isId = (v: unknown): v is string | number => (typeof v === 'string' && v.length > 0) || (typeof v === 'number' && Number.isFinite(v));

function checkFeatures(features: unknown): features is number[] {
  if (!Array.isArray(features) || features.length === 0) return false;
  for (const f of features) if (typeof f !== 'number' || !Number.isFinite(f)) return false;
  return true;
}

export function parseJsonlRecord(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `invalid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'record is not a JSON object' };
  const { id, features } = value as { id?: unknown; features?: unknown };
  if (!isId(id)) return { error: 'record has no id (a non-empty string or a number)' };
  if (!checkFeatures(features)) return { id, error: 'features must be a non-empty array of finite numbers' };
  return { id, features };
}

/** CSV: the `id` column is the id; every other column is a numeric feature, in header order. */
export function parseCsvRecord(text: string, header: readonly string[]): Parsed {
  const fields = parseCsvRow(text);
  if (!fields) return { error: 'malformed CSV row (unbalanced quotes)' };
  if (fields.length !== header.length) return { error: `expected ${header.length} columns, got ${fields.length}` };
  const idIndex = header.indexOf('id');
  const id = fields[idIndex] ?? '';
  const features: number[] = [];
  for (let i = 0; i < header.length; i++) {
    if (i === idIndex) continue;
    const field = fields[i] ?? '';
    const n = field.trim() === '' ? NaN : Number(field);
    if (!Number.isFinite(n)) return { ...(id ? { id } : {}), error: `column '${header[i]}' is not a number` };
    features.push(n);
  }
  if (!id) return { error: 'record has no id' };
  if (features.length === 0) return { id, error: 'record has no feature columns' };
  return { id, features };
}

export function parseChunk(chunk: ChunkData): ParsedChunk {
  const records: ParsedRecord[] = [];
  const errors: RecordError[] = [];
  const rejected = new Map((chunk.rejected ?? []).map((r) => [r.index, r.error]));
  const header = chunk.header ?? [];
  for (let i = 0; i < chunk.records.length; i++) {
    const line = chunk.lines?.[i] ?? chunk.firstLine + i;
    const refusal = rejected.get(i);
    if (refusal !== undefined) {
      errors.push({ line, error: refusal });
      continue;
    }
    const text = chunk.records[i] ?? '';
    if (text.trim() === '') continue; // blank lines are not records
    const parsed = chunk.format === 'csv' ? parseCsvRecord(text, header) : parseJsonlRecord(text);
    if ('error' in parsed)
      errors.push(parsed.id === undefined ? { line, error: parsed.error } : { line, id: parsed.id, error: parsed.error });
    else records.push({ id: parsed.id, features: parsed.features, line });
  }
  return { records, errors };
}
