/**
 * CSV (RFC 4180) with a header row. Without named features, the id column is the id and every
 * other column a numeric feature, in header order; with named features, only those columns
 * must be numeric and the others may hold text. Ids are the id column's text.
 */
import { DatasetError } from '../errors.js';
import { parseCsvRow } from './csv-row.js';
import { DEFAULT_SCHEMA } from './record-format.js';
import type { RecordFields, RecordFormat, RecordParser, RecordResult, RecordSchema } from './record-format.js';

function parseHeader(text: string, schema: RecordSchema): string[] {
  const header = parseCsvRow(text)?.map((h) => h.trim());
  if (!header || header.length < 2) throw new DatasetError('DATASET_BAD_HEADER', 'CSV header must name an id column and a feature column');
  const wanted = [schema.idField, ...(schema.features ?? []), ...(schema.keep ?? [])];
  const missing = wanted.find((name) => !header.includes(name));
  if (missing !== undefined) {
    const code = missing === schema.idField && schema.features === undefined ? 'DATASET_BAD_HEADER' : 'DATASET_MISSING_COLUMN';
    throw new DatasetError(code, `CSV header has no column '${missing}' (columns: ${header.join(', ')})`);
  }
  return header;
}

export function csvRecordParser(schema: RecordSchema, header: readonly string[]): RecordParser {
  const idIndex = header.indexOf(schema.idField);
  const featureIndexes = schema.features
    ? schema.features.map((name) => header.indexOf(name))
    : header.map((_, i) => i).filter((i) => i !== idIndex);
  const keepIndexes = (schema.keep ?? []).map((name) => [name, header.indexOf(name)] as const);
  return (text: string, line?: number): RecordResult => {
    const fields = parseCsvRow(text);
    if (!fields) return { code: 'MALFORMED_CSV', error: 'malformed CSV row (unbalanced quotes)' };
    if (fields.length !== header.length)
      return { code: 'WRONG_COLUMN_COUNT', error: `expected ${header.length} columns, got ${fields.length}` };
    const id = fields[idIndex] ?? '';
    if (!id) return { code: 'MISSING_ID', error: `record has no ${schema.idField}` };
    if (featureIndexes.length === 0) return { id, code: 'INVALID_FEATURES', error: 'record has no feature columns' };
    const features = new Array<number>(featureIndexes.length);
    for (let k = 0; k < featureIndexes.length; k++) {
      const i = featureIndexes[k] as number;
      const field = fields[i] ?? '';
      const n = field.trim() === '' ? NaN : Number(field);
      if (!Number.isFinite(n)) return { id, code: 'NOT_A_NUMBER', error: `column '${header[i]}' is not a number` };
      features[k] = n;
    }
    const record: RecordFields = { id, features, line };
    if (keepIndexes.length > 0) {
      record.input = {};
      for (const [name, i] of keepIndexes) record.input[name] = fields[i] ?? '';
    }
    return record;
  };
}

/** A record under the default schema (id column `id`, every other column a feature). */
export const parseCsvRecord = (text: string, header: readonly string[]): RecordResult => csvRecordParser(DEFAULT_SCHEMA, header)(text);

export const csvFormat: RecordFormat<'csv'> = {
  name: 'csv',
  matches: (pathname) => /\.csv(\.gz)?$/i.test(pathname),
  multiLineRecords: true,
  parseHeader,
  recordParser(schema, header) {
    if (!header) throw new DatasetError('DATASET_BAD_HEADER', 'CSV dataset has no header');
    return csvRecordParser(schema, header);
  },
};
