/**
 * Turns an error that ends a command into its exit code and one line on stderr that says
 * what went wrong and what to do next. Stack traces are for developers: `--debug` or
 * `LOG_LEVEL=debug` (or `trace`) prints them after the line; users never see one otherwise.
 */
import {
  BatchinferError,
  ConfigError,
  DatasetError,
  DatasetRefusedError,
  ModelError,
  OutputError,
  RedisUnavailableError,
  TemplateError,
  ValidationError,
} from '../shared/errors.js';
import { UsageError } from './args.js';
import { EXIT } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';
import { InterruptedError } from './interrupts.js';
import { ProducerApiError, ProducerUnreachableError } from './producer-client.js';

export interface ErrorReport {
  exitCode: ExitCode;
  /** One line, without the `batchinfer <command>:` prefix. */
  message: string;
}

/** The next step for a refused dataset URL: which variable allows what was refused. */
function refusedHint(message: string): string {
  if (/private|loopback|link-local|reserved|names this machine/.test(message)) {
    return ' (a dataset on this machine or a private network: set DATASET_ALLOW_PRIVATE_NETWORKS=true, or DATASET_ALLOWED_CIDRS for a few ranges)';
  }
  if (/scheme/.test(message)) return ' (DATASET_ALLOWED_SCHEMES lists the schemes allowed)';
  return '';
}

/** Input errors a user fixes by changing the command or the files it names. */
const INPUT_ERRORS = [UsageError, ConfigError, ValidationError, ModelError, OutputError, TemplateError] as const;

export function classifyError(err: unknown): ErrorReport {
  const message = err instanceof Error ? err.message.replace(/\s*\n\s*/g, ' ') : String(err);
  if (err instanceof InterruptedError) return { exitCode: EXIT.interrupted, message };
  if (err instanceof DatasetRefusedError) return { exitCode: EXIT.usage, message: `${message}${refusedHint(message)}` };
  if (err instanceof ConfigError) return { exitCode: EXIT.usage, message: `invalid configuration: ${message} (see docs/configuration.md)` };
  if (INPUT_ERRORS.some((kind) => err instanceof kind)) return { exitCode: EXIT.usage, message };
  // A dataset that is not there or cannot be parsed is the user's input; a flaky server is not.
  if (err instanceof DatasetError) {
    const input = /NOT_FOUND|BAD_HEADER|MISSING|TOO_LARGE|HTTP_4/.test(err.code);
    return { exitCode: input ? EXIT.usage : EXIT.batchFailed, message };
  }
  if (err instanceof RedisUnavailableError || err instanceof ProducerUnreachableError) return { exitCode: EXIT.unreachable, message };
  if (err instanceof ProducerApiError) {
    if (err.status === 502 || err.status === 503 || err.status === 504) return { exitCode: EXIT.unreachable, message };
    return { exitCode: err.status >= 400 && err.status < 500 ? EXIT.usage : EXIT.batchFailed, message };
  }
  if (err instanceof BatchinferError) return { exitCode: EXIT.batchFailed, message };
  return { exitCode: EXIT.batchFailed, message: `${message} (unexpected: run again with --debug for the stack trace)` };
}

/** Writes the report line (and the stack when asked) and returns the exit code. */
export function reportError(
  err: unknown,
  command: string | undefined,
  showStack: boolean,
  stderr: NodeJS.WritableStream = process.stderr,
): ExitCode {
  const { exitCode, message } = classifyError(err);
  stderr.write(`batchinfer${command ? ` ${command}` : ''}: ${message}\n`);
  if (showStack && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
  return exitCode;
}
