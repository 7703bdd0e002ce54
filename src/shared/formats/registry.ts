/** The dataset formats, one line each. Nothing else in the code knows which formats exist. */
import { csvFormat } from './csv.js';
import { jsonlFormat } from './jsonl.js';
import type { RecordFormat } from './record-format.js';

export const FORMATS = [jsonlFormat, csvFormat] as const;

/** A registered format's name (`jsonl`, `csv`). */
export type FormatName = (typeof FORMATS)[number]['name'];

/** The format of a dataset whose request names none: by its path, else JSONL. */
export const DEFAULT_FORMAT: FormatName = 'jsonl';

export const FORMAT_NAMES: readonly FormatName[] = FORMATS.map((f) => f.name);

export function isFormatName(name: unknown): name is FormatName {
  return typeof name === 'string' && (FORMAT_NAMES as readonly string[]).includes(name);
}

export function formatNamed(name: FormatName): RecordFormat<FormatName> {
  return FORMATS.find((f) => f.name === name) ?? jsonlFormat;
}

/** The format a dataset's path implies (`x.csv.gz` → csv), else {@link DEFAULT_FORMAT}. */
export function inferFormat(pathname: string): FormatName {
  return FORMATS.find((f) => f.name !== DEFAULT_FORMAT && f.matches(pathname))?.name ?? DEFAULT_FORMAT;
}
