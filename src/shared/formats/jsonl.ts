/**
 * JSONL: one JSON object per line. The reference format is `{"id": ..., "features": [numbers]}`;
 * with named features, each is a numeric field of the object. Ids keep their JSON type
 * (a non-empty string or a finite number).
 */
import type { RecordId } from '../types.js';
import { DEFAULT_SCHEMA } from './record-format.js';
import type { RecordFields, RecordFormat, RecordParser, RecordResult, RecordSchema } from './record-format.js';

const isId = (v: unknown): v is RecordId => (typeof v === 'string' && v.length > 0) || (typeof v === 'number' && Number.isFinite(v));
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function featureArray(features: unknown): number[] | undefined {
  if (!Array.isArray(features) || features.length === 0) return undefined;
  for (const f of features) if (!isFiniteNumber(f)) return undefined;
  return features as number[];
}

function kept(value: Record<string, unknown>, keep: readonly string[]): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const name of keep) if (Object.hasOwn(value, name)) input[name] = value[name];
  return input;
}

export function jsonlRecordParser(schema: RecordSchema): RecordParser {
  const { idField, features: names, keep } = schema;
  return (text: string, line?: number): RecordResult => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { code: 'INVALID_JSON', error: `invalid JSON: ${(err as Error).message}` };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { code: 'NOT_AN_OBJECT', error: 'record is not a JSON object' };
    }
    const record = value as Record<string, unknown>;
    const id = Object.hasOwn(record, idField) ? record[idField] : undefined;
    if (!isId(id)) return { code: 'MISSING_ID', error: `record has no ${idField} (a non-empty string or a number)` };
    let features: number[];
    if (names === undefined) {
      const array = featureArray(record.features);
      if (!array) return { id, code: 'INVALID_FEATURES', error: 'features must be a non-empty array of finite numbers' };
      features = array;
    } else {
      features = new Array<number>(names.length);
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as string;
        if (!Object.hasOwn(record, name)) return { id, code: 'MISSING_FEATURE', error: `feature '${name}' is missing` };
        const v = record[name];
        if (!isFiniteNumber(v)) return { id, code: 'NOT_A_NUMBER', error: `feature '${name}' is not a finite number` };
        features[i] = v;
      }
    }
    const fields: RecordFields = { id, features, line };
    if (keep) fields.input = kept(record, keep);
    return fields;
  };
}

/** A reference-format record (what most tests and the fuzzer feed). */
export const parseJsonlRecord = (text: string): RecordResult => jsonlRecordParser(DEFAULT_SCHEMA)(text);

export const jsonlFormat: RecordFormat<'jsonl'> = {
  name: 'jsonl',
  // The default: anything that is not another format's.
  matches: (pathname) => /\.(jsonl|ndjson|json)(\.gz)?$/i.test(pathname),
  multiLineRecords: false,
  recordParser: (schema) => jsonlRecordParser(schema),
};
