/**
 * One definition per environment variable: its name, how it is parsed, its default, which
 * commands it affects and what it means. The same definition reads the variable
 * ({@link Variable.read}) and writes its row in docs/configuration.md ({@link Section}), so
 * the two cannot drift (STYLE.md habit 15).
 */
import {
  readBool,
  readEnum,
  readHttpUrl,
  readInt,
  readList,
  readNames,
  readNumber,
  readOptionalInt,
  readOptionalString,
  readRatio,
  readString,
  readUrl,
} from './readers.js';
import type { Env } from './readers.js';

/** Commands of the CLI a variable can affect: the three services, `batchinfer run`, and `submit`/`status`. */
export const SERVICES = ['producer', 'consumer', 'exporter', 'run', 'client'] as const;
export type Service = (typeof SERVICES)[number];

/** What every definition says about its variable. */
export interface Described {
  /** The commands whose behaviour the variable changes (`run` includes the consumers it starts). */
  services: readonly Service[];
  /** One line for the reference table. */
  doc: string;
  /** A longer explanation, printed under the section's table. */
  note?: string;
  /** The Default column, in Markdown, where the value alone would not say it (computed defaults, SDK defaults). */
  shownDefault?: string;
  /** Added after the default in the reference, e.g. `4 hours` after `14400`. */
  defaultHint?: string;
}

export interface Variable<T> {
  readonly name: string;
  readonly services: readonly Service[];
  readonly doc: string;
  readonly note: string | undefined;
  /** What a valid value looks like, in Markdown; undefined for free text. */
  readonly accepts: string | undefined;
  /** The Default column, in Markdown. */
  readonly shownDefault: string;
  /** False for variables only a library reads (the OTel exporter's own); documented here all the same. */
  readonly readHere: boolean;
  /** The value from `env`; throws a ConfigError naming the variable when it is malformed. */
  read(env: Env): T;
}

const code = (value: string | number | boolean): string => `\`${String(value)}\``;
const codes = (values: readonly string[]): string => values.map(code).join(', ');

function define<T>(name: string, spec: Described, accepts: string | undefined, computed: string, read: (env: Env) => T): Variable<T> {
  const shown = spec.shownDefault ?? computed;
  return {
    name,
    services: spec.services,
    doc: spec.doc,
    note: spec.note,
    accepts,
    shownDefault: spec.defaultHint === undefined ? shown : `${shown} (${spec.defaultHint})`,
    readHere: true,
    read,
  };
}

function wholeNumberRange(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER) return min === 0 ? 'a whole number' : `a whole number >= ${min}`;
  return `a whole number from ${min} to ${max}`;
}

export const text = (name: string, spec: Described & { default: string }): Variable<string> =>
  define(name, spec, undefined, code(spec.default), (env) => readString(env, name, spec.default));

export const optionalText = (name: string, spec: Described): Variable<string | undefined> =>
  define(name, spec, undefined, 'unset', (env) => readOptionalString(env, name));

export function int(name: string, spec: Described & { default: number; min?: number; max?: number }): Variable<number> {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = spec;
  return define(name, spec, wholeNumberRange(min, max), code(spec.default), (env) => readInt(env, name, spec.default, min, max));
}

/** A whole number the SDK has its own default for: unset stays undefined. */
export const optionalInt = (name: string, spec: Described & { min: number; shownDefault: string }): Variable<number | undefined> =>
  define(name, spec, wholeNumberRange(spec.min, Number.MAX_SAFE_INTEGER), 'unset', (env) => readOptionalInt(env, name, spec.min));

export function decimal(name: string, spec: Described & { default: number; min?: number }): Variable<number> {
  const { min = 0 } = spec;
  return define(name, spec, `a number >= ${min}`, code(spec.default), (env) => readNumber(env, name, spec.default, min));
}

export const ratio = (name: string, spec: Described & { default: number }): Variable<number> =>
  define(name, spec, 'a number from 0 to 1', code(spec.default), (env) => readRatio(env, name, spec.default));

export const flag = (name: string, spec: Described & { default: boolean }): Variable<boolean> =>
  define(name, spec, '`true` or `false` (also `1`/`0`, `yes`/`no`)', code(spec.default), (env) => readBool(env, name, spec.default));

export const oneOf = <T extends string>(name: string, spec: Described & { values: readonly T[]; default: T }): Variable<T> =>
  define(name, spec, `one of ${codes(spec.values)}`, code(spec.default), (env) => readEnum(env, name, spec.values, spec.default));

export const list = (name: string, spec: Described & { default: string[] }): Variable<string[]> =>
  define(name, spec, 'a comma-separated list', code(spec.default.join(',')), (env) => readList(env, name, spec.default));

/** A comma list of known names, each kept once. */
export function names<T extends string>(name: string, spec: Described & { values: readonly T[]; default: T[] }): Variable<T[]> {
  const shown = spec.default.length === 0 ? 'unset' : code(spec.default.join(','));
  return define(name, spec, `a comma-separated list of ${codes(spec.values)}`, shown, (env) =>
    readNames(env, name, spec.values, spec.default),
  );
}

export const url = (name: string, spec: Described): Variable<string | undefined> =>
  define(name, spec, 'a URL', 'unset', (env) => readUrl(env, name));

export const httpUrl = (name: string, spec: Described): Variable<string | undefined> =>
  define(name, spec, 'an `http://` or `https://` URL', 'unset', (env) => readHttpUrl(env, name));

/** A variable with its own parser (JSON, quantities, a path resolved at start, ...). */
export const parsed = <T>(name: string, spec: Described & { accepts?: string; shownDefault: string; read: (env: Env) => T }): Variable<T> =>
  define(name, spec, spec.accepts, 'unset', spec.read);

/** A variable only a library reads (it takes it from the environment itself); here for the reference. */
export function readByLibrary(name: string, spec: Described & { accepts?: string; shownDefault: string }): Variable<undefined> {
  return { ...define(name, spec, spec.accepts, 'unset', () => undefined), readHere: false };
}

/** Variables keyed by the configuration field they fill. */
export type Table = Readonly<Record<string, Variable<unknown>>>;
export type TableValues<T extends Table> = { -readonly [K in keyof T]: T[K] extends Variable<infer V> ? V : never };

/** Reads every variable of `table`, in its order (the first malformed one throws). */
export function readTable<T extends Table>(table: T, env: Env): TableValues<T> {
  const values: Record<string, unknown> = {};
  for (const [field, variable] of Object.entries(table)) values[field] = variable.read(env);
  return values as TableValues<T>;
}

/** A part of the reference page: a heading, a paragraph, and its variables' table. */
export interface Section {
  readonly title: string;
  readonly about: string;
  readonly variables: readonly Variable<unknown>[];
}

export const section = (title: string, about: string, ...tables: Table[]): Section => ({
  title,
  about,
  variables: tables.flatMap((table) => Object.values(table)),
});
