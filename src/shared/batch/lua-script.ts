/**
 * The store's Lua scripts: one `.lua` file each under `./lua/`, read once per process and
 * registered on a connection with ioredis' `defineCommand` (EVALSHA, falling back to EVAL
 * when Redis lost its script cache). A script's KEYS and ARGV are named once, in its
 * {@link ScriptSpec}; the loader prepends `local KEY = {batch = KEYS[1], ...}` and
 * `local ARG = {...}` to the file, so the Lua reads by name and positions are built in
 * exactly one place. A file's `-- uses: a, b` line prepends the shared `a.lua` and `b.lua`.
 *
 * The files are read relative to this module: `src/shared/batch/lua/` under vitest,
 * `dist/shared/batch/lua/` and `dist/bundle/lua/` after the build (scripts/bundle.mjs
 * copies them there).
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { AccountingValueError } from '../errors.js';

type ScriptValue = string | number;

/** Names of a script's KEYS and ARGV, in their positional order. */
export interface ScriptSpec<K extends string, A extends string> {
  /** File name in `./lua/`, without `.lua`. */
  file: string;
  keys: readonly K[];
  args: readonly A[];
}

/** One call: every named key and argument, plus variadic ones after them. */
export interface ScriptCall<K extends string, A extends string> {
  keys: Record<K, string>;
  args: Record<A, ScriptValue>;
  /** Keys after the named ones; the Lua reads them from `KEYS[FIRST_MORE_KEY]` on. */
  moreKeys?: readonly string[];
  /** Arguments after the named ones; the Lua reads them from `ARGV[FIRST_MORE_ARG]` on. */
  moreArgs?: readonly ScriptValue[];
}

/** A script bound to a connection, called with named keys and arguments. */
export type LuaScript<K extends string, A extends string, R> = (call: ScriptCall<K, A>) => Promise<R>;

const LUA_DIR = new URL('./lua/', import.meta.url);
const USES = /^-- uses: *(.+)$/m;
const NAME = /^[A-Za-z][A-Za-z0-9]*$/;
const sources = new Map<string, string>();

function readLua(file: string): string {
  return readFileSync(new URL(`${file}.lua`, LUA_DIR), 'utf8');
}

/** The file with its shared files before it (one level: shared files use none). */
function withShared(file: string): string {
  const body = readLua(file);
  const uses =
    USES.exec(body)?.[1]
      ?.split(',')
      .map((name) => name.trim()) ?? [];
  return [...uses.map(readLua), body].join('\n');
}

function preamble(keys: readonly string[], args: readonly string[]): string {
  for (const name of [...keys, ...args]) if (!NAME.test(name)) throw new Error(`Lua script field name '${name}' is not an identifier`);
  const table = (names: readonly string[], array: string): string => `{${names.map((n, i) => `${n} = ${array}[${i + 1}]`).join(', ')}}`;
  return [
    `local KEY = ${table(keys, 'KEYS')}`,
    `local ARG = ${table(args, 'ARGV')}`,
    `local FIRST_MORE_KEY = ${keys.length + 1}`,
    `local FIRST_MORE_ARG = ${args.length + 1}`,
  ].join('\n');
}

/** Every `KEY.x` and `ARG.x` the Lua reads must be named in the spec: a typo would read nil. */
function checkNames(spec: ScriptSpec<string, string>, body: string): void {
  for (const [table, declared] of [
    ['KEY', spec.keys],
    ['ARG', spec.args],
  ] as const) {
    for (const [, name] of body.matchAll(new RegExp(`\\b${table}\\.([A-Za-z0-9_]+)`, 'g'))) {
      if (name && !declared.includes(name)) throw new Error(`${spec.file}.lua reads ${table}.${name}, which its spec does not name`);
    }
  }
}

/** The full text Redis runs for `spec`, built (and checked) once per process. */
export function scriptSource(spec: ScriptSpec<string, string>): string {
  const cacheKey = `${spec.file}|${spec.keys.join(',')}|${spec.args.join(',')}`;
  let source = sources.get(cacheKey);
  if (source === undefined) {
    const body = withShared(spec.file);
    checkNames(spec, body);
    source = `${preamble(spec.keys, spec.args)}\n${body}`;
    sources.set(cacheKey, source);
  }
  return source;
}

const commandName = (file: string): string => `batch_${file.replace(/-/g, '_')}`;

/**
 * Registers `spec` on `redis` and returns its typed caller. Registering again on the same
 * connection (several stores on one client) replaces the definition with the same script.
 */
export function defineScript<K extends string, A extends string, R>(redis: Redis, spec: ScriptSpec<K, A>): LuaScript<K, A, R> {
  const name = commandName(spec.file);
  redis.defineCommand(name, { lua: scriptSource(spec) });
  const command = (redis as unknown as Record<string, (...args: ScriptValue[]) => Promise<R>>)[name];
  if (!command) throw new Error(`ioredis did not define ${name}`);
  return (call) => {
    // Lua would store NaN as "nan" and poison every total it joins: refused here, for every script.
    for (const a of spec.args) {
      const value = call.args[a];
      if (typeof value === 'number' && !Number.isFinite(value)) return Promise.reject(new AccountingValueError(a, value));
    }
    for (const value of call.moreArgs ?? []) {
      if (typeof value === 'number' && !Number.isFinite(value)) return Promise.reject(new AccountingValueError(spec.file, value));
    }
    const keys = [...spec.keys.map((k) => call.keys[k]), ...(call.moreKeys ?? [])];
    const args = [...spec.args.map((a) => call.args[a]), ...(call.moreArgs ?? [])];
    return command.call(redis, keys.length, ...keys, ...args);
  };
}
