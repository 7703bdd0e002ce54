/**
 * `run`'s flags for named columns and model files: `--features a,b`, `--id-field id`,
 * `--keep x,y` (the API's `features`, `idField`, `keep`) and `--model-root DIR` (`MODEL_ROOT`).
 * A local CSV whose header lacks a named column is a usage error naming it, before anything
 * starts (a service finds out at ingest and fails the batch with `DATASET_MISSING_COLUMN`).
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatasetError } from '../shared/errors.js';
import { DEFAULT_SCHEMA } from '../shared/formats/record-format.js';
import { formatNamed, inferFormat, isFormatName } from '../shared/formats/registry.js';
import { UsageError } from './args.js';
import { stringFlag } from './command-spec.js';
import type { FlagSpec, ParsedCommand } from './command-spec.js';

/** The flags, as `run`'s spec declares them (command-specs.ts). */
export const SCHEMA_FLAGS: Record<string, FlagSpec> = {
  features: {
    type: 'string',
    value: 'a,b',
    help: 'feature columns (CSV) or keys (JSONL), in the model input order',
    defaultText: 'the reference format',
  },
  'id-field': { type: 'string', value: 'NAME', help: 'the id column or key', defaultText: 'id' },
  keep: { type: 'string', value: 'x,y', help: 'fields copied into each output line under input' },
  'model-root': { type: 'string', value: 'DIR', help: 'folder model files are read from', defaultText: '$MODEL_ROOT, else ./models' },
};

/** The flags' values from a parsed command line. */
export function schemaFlagValues(parsed: ParsedCommand): SchemaFlagValues {
  return {
    features: stringFlag(parsed, 'features'),
    'id-field': stringFlag(parsed, 'id-field'),
    keep: stringFlag(parsed, 'keep'),
    'model-root': stringFlag(parsed, 'model-root'),
  };
}

export interface SchemaFlagValues {
  features?: string | undefined;
  'id-field'?: string | undefined;
  keep?: string | undefined;
  'model-root'?: string | undefined;
}

/** What the flags add to a run: request fields (checked like the API's) and the model root. */
export interface SchemaFlags {
  request: { features?: string[]; idField?: string; keep?: string[] };
  /** `--model-root`, absolute; undefined leaves `MODEL_ROOT`. */
  modelRoot: string | undefined;
}

const names = (value: string): string[] =>
  value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');

export function readSchemaFlags(values: SchemaFlagValues): SchemaFlags {
  const request: SchemaFlags['request'] = {};
  if (values.features !== undefined) request.features = names(values.features);
  if (values['id-field'] !== undefined) request.idField = values['id-field'];
  if (values.keep !== undefined) request.keep = names(values.keep);
  return { request, modelRoot: values['model-root'] === undefined ? undefined : path.resolve(values['model-root']) };
}

/** Bytes read to find a CSV header: far more than any header this tool accepts. */
const HEADER_BYTES = 1024 * 1024;

/**
 * Checks a local, uncompressed CSV's header against the named columns; a missing one is a
 * usage error naming it. Other datasets are checked where they are read.
 */
export async function checkCsvColumns(datasetUrl: string, format: string | undefined, flags: SchemaFlags): Promise<void> {
  const { features, idField, keep } = flags.request;
  if (!features && !idField && !keep) return;
  const url = new URL(datasetUrl);
  if (url.protocol !== 'file:' || url.pathname.endsWith('.gz')) return;
  const name = isFormatName(format) ? format : inferFormat(url.pathname);
  const parseHeader = formatNamed(name).parseHeader;
  if (!parseHeader) return;
  const file = await open(fileURLToPath(url)).catch(() => undefined);
  if (!file) return;
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
    const header = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .split(/\r?\n/)
      .find((line) => line.trim() !== '');
    if (header === undefined) return;
    parseHeader(header, { ...DEFAULT_SCHEMA, ...(idField ? { idField } : {}), features, keep });
  } catch (err) {
    if (err instanceof DatasetError) throw new UsageError(`${fileURLToPath(url)}: ${err.message}`);
    throw err;
  } finally {
    await file.close();
  }
}
