/**
 * Dispatch: `batchinfer <command> [options]`. Every command is described by its spec
 * (command-specs.ts), so `--help` answers before anything is configured or connected;
 * the command's module is loaded only when it runs (a consumer's cold start does not pay
 * for the producer's modules). Errors end here: one line and an exit code (error-report.ts).
 */
import { loadConfig } from '../shared/config/config.js';
import { helpText, parseCommand } from './command-spec.js';
import type { ParsedCommand } from './command-spec.js';
import { SPECS } from './command-specs.js';
import { reportError } from './error-report.js';
import { EXIT } from './exit-codes.js';
import { packageVersion } from './version.js';

type Command = (parsed: ParsedCommand) => Promise<number>;

/** Sub-commands by name; the container image runs one of them (`args` in the manifests). */
export const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run-command.js')).runCommand,
  submit: async () => (await import('./submit-command.js')).submitCommand,
  status: async () => (await import('./status-command.js')).statusCommand,
  cancel: async () => (await import('./status-command.js')).cancelCommand,
  retry: async () => (await import('./status-command.js')).retryCommand,
  producer: async () => (await import('./service-commands.js')).producerCommand,
  consumer: async () => (await import('./service-commands.js')).consumerCommand,
  exporter: async () => (await import('./service-commands.js')).exporterCommand,
};

export function overview(): string {
  const width = Math.max(...Object.keys(SPECS).map((name) => name.length)) + 2;
  const lines = ['usage: batchinfer <command> [options]', '       batchinfer <command> --help | batchinfer --version', '', 'Commands:'];
  for (const [name, spec] of Object.entries(SPECS)) lines.push(`  ${name.padEnd(width)}${spec.summary}`);
  lines.push('', 'Configuration: environment variables, see docs/configuration.md. The CLI: docs/cli.md.');
  return lines.join('\n');
}

/** `LOG_LEVEL=debug` (or trace) shows stacks too; a malformed LOG_LEVEL must not hide the real error. */
function debugLogging(): boolean {
  try {
    const level = loadConfig().logLevel;
    return level === 'debug' || level === 'trace';
  } catch {
    return false;
  }
}

/** Runs a sub-command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`batchinfer ${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const spec = rest[0] ? SPECS[rest[0]] : undefined;
    process.stdout.write(`${spec ? helpText(spec) : overview()}\n`);
    return EXIT.ok;
  }
  if (!name) {
    process.stderr.write(`${overview()}\n`);
    return EXIT.usage;
  }
  const spec = SPECS[name];
  const load = COMMANDS[name];
  if (!spec || !load) {
    process.stderr.write(`batchinfer: unknown command '${name}'; run batchinfer --help for the list\n`);
    return EXIT.usage;
  }
  // Before parsing, so `--help` works next to a flag that is wrong or incomplete.
  const beforeDashes = rest.indexOf('--') === -1 ? rest : rest.slice(0, rest.indexOf('--'));
  if (beforeDashes.includes('--help') || beforeDashes.includes('-h')) {
    process.stdout.write(`${helpText(spec)}\n`);
    return EXIT.ok;
  }
  let debug = rest.includes('--debug');
  try {
    const parsed = parseCommand(spec, rest);
    debug = parsed.debug;
    return await (
      await load()
    )(parsed);
  } catch (err) {
    return reportError(err, name, debug || debugLogging());
  }
}
