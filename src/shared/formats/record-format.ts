/**
 * The dataset-format seam. A **format** (`jsonl`, `csv`) is one plug-in module, registered
 * by one line in `registry.ts`. It says how records are laid out in bytes (the splitter and
 * the producer's planning use that), whether a header comes first, and how one record's text
 * becomes an id, features and kept input fields under a {@link RecordSchema}.
 */
import type { RecordErrorCode, RecordId } from '../types.js';

/**
 * Which fields of a record are what. The default is the reference format: JSONL records
 * `{"id": ..., "features": [numbers]}`, CSV rows with an `id` column and every other column
 * a numeric feature.
 */
export interface RecordSchema {
  /**
   * Feature names in the model's input order, picked from JSONL objects or CSV columns.
   * Unset: the reference format (JSONL's `features` array; every CSV column but the id).
   */
  readonly features?: readonly string[] | undefined;
  /** The field (JSONL key, CSV column) holding the record's id. @defaultValue `id` */
  readonly idField: string;
  /** Fields copied into each output line under `input`, so results can be joined back. */
  readonly keep?: readonly string[] | undefined;
}

export const DEFAULT_SCHEMA: RecordSchema = { idField: 'id' };

/** A record that parsed: what the model scores and what the output line carries. */
export interface RecordFields {
  id: RecordId;
  features: number[];
  /**
   * The record's line, when the caller gave it to the parser: the object is then the chunk's
   * record as it is (created with all its fields at once, not copied into another object).
   */
  line?: number;
  /** The `keep` fields (JSONL: their JSON values; CSV: their text), absent ones left out. */
  input?: Record<string, unknown>;
}

/** A record that did not parse: a record error, never an exception. */
export interface RecordFault {
  code: RecordErrorCode;
  error: string;
  /** The id, when it could be read before the fault. */
  id?: RecordId;
}

export type RecordResult = RecordFields | RecordFault;

export const isFault = (r: RecordResult): r is RecordFault => 'error' in r;

/** Parses the text of one record (compiled once per chunk for a schema and header); `line` is kept on it. */
export type RecordParser = (text: string, line?: number) => RecordResult;

export interface RecordFormat<Name extends string = string> {
  readonly name: Name;
  /** True when a dataset's path says it is in this format (`.csv`, `.csv.gz`). */
  matches(pathname: string): boolean;
  /** Whether one record may span several lines (a quoted CSV field holding a newline). */
  readonly multiLineRecords: boolean;
  /**
   * Parses the header (the first non-blank record) when the format has one, and checks the
   * schema against it; throws a `DatasetError` (`DATASET_BAD_HEADER`,
   * `DATASET_MISSING_COLUMN`) naming what is wrong. Absent for formats without a header.
   */
  readonly parseHeader?: (text: string, schema: RecordSchema) => string[];
  /** A parser for records of one schema (and header, for formats that have one). */
  recordParser(schema: RecordSchema, header: readonly string[] | undefined): RecordParser;
}
