/**
 * One declarative spec per command: its flags (with defaults and a line of help each), its
 * positional arguments and two examples. The same spec drives parsing (node:util parseArgs,
 * strict) and `--help`, so the help can never drift from what the parser accepts. Other
 * modules add flags to a command by {@link withFlags} (e.g. `run`'s schema flags).
 */
import { parseArgs } from 'node:util';
import { UsageError } from './args.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown as `<value>` in the help: `N`, `URL`, `key=value`. */
  value?: string;
  /** May be given more than once; values are collected in order. */
  multiple?: boolean;
  /** The default as people should read it (`$OUTPUT_URL, else ./output`); informational. */
  defaultText?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** One line: what the command does. */
  summary: string;
  /** Positional arguments as written in the usage line, e.g. `<dataset>`. */
  positionals: string[];
  flags: Record<string, FlagSpec>;
  /** Two (or more) complete command lines with a comment each. */
  examples: Array<{ command: string; note: string }>;
  /** Extra paragraph after the flags (environment, exit codes). */
  notes?: string;
}

/** Flags every command takes. */
export const COMMON_FLAGS: Record<string, FlagSpec> = {
  help: { type: 'boolean', short: 'h', help: 'show this help and exit' },
  debug: { type: 'boolean', help: 'print the stack trace of an error (as LOG_LEVEL=debug does)' },
};

export const JSON_FLAG: FlagSpec = { type: 'boolean', help: 'print one JSON object on stdout instead of text', defaultText: 'off' };

/** A copy of `spec` with more flags (later modules extend a command without editing it). */
export function withFlags(spec: CommandSpec, flags: Record<string, FlagSpec>): CommandSpec {
  return { ...spec, flags: { ...spec.flags, ...flags } };
}

export function usageLine(spec: CommandSpec): string {
  return `usage: batchinfer ${spec.name}${spec.positionals.map((p) => ` ${p}`).join('')}${Object.keys(spec.flags).length ? ' [options]' : ''}`;
}

function flagLabel(name: string, flag: FlagSpec): string {
  const short = flag.short ? `-${flag.short}, ` : '';
  const value = flag.type === 'string' ? ` ${flag.value ?? 'VALUE'}` : '';
  return `${short}--${name}${value}`;
}

export function helpText(spec: CommandSpec): string {
  const flags = { ...spec.flags, ...COMMON_FLAGS };
  const labels = Object.entries(flags).map(([name, flag]) => [flagLabel(name, flag), flag] as const);
  const width = Math.max(...labels.map(([label]) => label.length)) + 2;
  const lines = [usageLine(spec), '', spec.summary, '', 'Options:'];
  for (const [label, flag] of labels) {
    const repeat = flag.multiple ? ' (repeatable)' : '';
    const def = flag.defaultText ? ` [default: ${flag.defaultText}]` : '';
    lines.push(`  ${label.padEnd(width)}${flag.help}${repeat}${def}`);
  }
  if (spec.notes) lines.push('', spec.notes);
  lines.push('', 'Examples:');
  for (const example of spec.examples) lines.push(`  # ${example.note}`, `  ${example.command}`);
  return lines.join('\n');
}

export interface ParsedCommand {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  help: boolean;
  debug: boolean;
}

/** Parses `argv` by the spec; a flag it does not know, or a missing value, is a {@link UsageError}. */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedCommand {
  const flags = { ...spec.flags, ...COMMON_FLAGS };
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [
      name,
      { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // node:util's messages name the flag but carry a hint meant for programmers; keep the first sentence.
    const message = (err as Error).message.split('. ')[0] ?? 'bad arguments';
    throw new UsageError(`${message}; see batchinfer ${spec.name} --help`);
  }
  const values = parsed.values as ParsedCommand['values'];
  return { values, positionals: parsed.positionals, help: values.help === true, debug: values.debug === true };
}

/** The one positional argument a command takes, or a usage error naming it. */
export function onePositional(spec: CommandSpec, parsed: ParsedCommand): string {
  const [first] = parsed.positionals;
  const what = spec.positionals[0] ?? 'argument';
  if (first === undefined || first === '' || parsed.positionals.length !== 1) {
    throw new UsageError(
      `expected one ${what}${parsed.positionals.length > 1 ? `, got ${parsed.positionals.length}` : ''}; see batchinfer ${spec.name} --help`,
    );
  }
  return first;
}

export const stringFlag = (parsed: ParsedCommand, name: string): string | undefined => {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
};

export const listFlag = (parsed: ParsedCommand, name: string): string[] => {
  const value = parsed.values[name];
  return Array.isArray(value) ? value : [];
};

export const booleanFlag = (parsed: ParsedCommand, name: string): boolean => parsed.values[name] === true;
