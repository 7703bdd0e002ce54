/**
 * Typed readers of one environment variable each, in the manner of OpenTelemetry JS's env
 * readers: a blank value is unset and gives the fallback; a malformed one throws a
 * {@link ConfigError} naming the variable (one line, printed by the CLI before it exits 2).
 * The variable definitions (`*-variables.ts`) are built on these.
 */
import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { ConfigError } from '../errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The trimmed value, or undefined when unset or blank. */
export function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function readString(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback;
}

export function readOptionalString(env: Env, name: string): string | undefined {
  return raw(env, name);
}

export function readInt(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `expected a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${n}`);
  return n;
}

export function readOptionalInt(env: Env, name: string, min: number, max?: number): number | undefined {
  return raw(env, name) === undefined ? undefined : readInt(env, name, min, min, max);
}

export function readNumber(env: Env, name: string, fallback: number, min = 0): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new ConfigError(name, `expected a number >= ${min}, got '${value}'`);
  return n;
}

export function readRatio(env: Env, name: string, fallback: number): number {
  const value = readNumber(env, name, fallback);
  if (value > 1) throw new ConfigError(name, `expected a number from 0 to 1, got ${value}`);
  return value;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new ConfigError(name, `expected true or false, got '${value}'`);
}

export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got '${value}'`);
  }
  return value as T;
}

/** A comma list, lower-cased, blanks dropped. */
export function readList(env: Env, name: string, fallback: string[]): string[] {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const items = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (items.length === 0) throw new ConfigError(name, 'expected a comma-separated list');
  return items;
}

/** A comma list of names from `allowed`, each once. */
export function readNames<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T[]): T[] {
  const names = readList(env, name, fallback);
  for (const n of names) {
    if (!(allowed as readonly string[]).includes(n))
      throw new ConfigError(name, `expected a comma list of ${allowed.join(', ')}, got '${n}'`);
  }
  return [...new Set(names as T[])];
}

export function readUrl(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  try {
    return new URL(value).toString();
  } catch {
    throw new ConfigError(name, `expected a URL, got '${value}'`);
  }
}

export function readHttpUrl(env: Env, name: string): string | undefined {
  const value = readUrl(env, name);
  if (value !== undefined && !/^https?:/.test(value))
    throw new ConfigError(name, `expected an http:// or https:// URL, got '${raw(env, name)}'`);
  return value;
}

/** IPs and CIDRs, checked now so a typo fails at start rather than allowing nothing. */
export function readCidrList(env: Env, name: string): string[] {
  if (raw(env, name) === undefined) return [];
  return readList(env, name, []).map((item) => {
    try {
      if (item.includes('/')) {
        const [address, bits] = ipaddr.parseCIDR(item);
        return `${address.toString()}/${bits}`;
      }
      return ipaddr.parse(item).toString();
    } catch {
      throw new ConfigError(name, `expected IP addresses or CIDR ranges like 10.1.2.0/24, got '${item}'`);
    }
  });
}

/** The contents of the file the variable names, read now so a missing file fails at start. */
export function readFileContents(env: Env, name: string): string | undefined {
  const file = raw(env, name);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(name, `cannot read '${file}': ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** A JSON object (not an array or scalar); `example` shows the expected shape in the error. */
export function parseJsonObject(name: string, value: string, example: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError(name, `expected JSON like ${example}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigError(name, `expected a JSON object like ${example}`);
  return parsed as Record<string, unknown>;
}

export function nonNegativeNumbers(name: string, object: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(object)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(name, `'${key}' must be a number >= 0`);
    out[key] = v;
  }
  return out;
}
