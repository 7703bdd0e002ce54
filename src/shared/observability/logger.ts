/**
 * pino JSON logs. Every line written inside an active span carries `trace_id`, `span_id`
 * and `trace_flags`, so a log search by trace finds the whole batch. On a terminal
 * (`batchinfer run`) lines can be made human-readable with pino-pretty, which is loaded only
 * then.
 */
import { commonJs } from './commonjs.js';
import { trace } from '@opentelemetry/api';
import { pino } from 'pino';
import type { Logger, DestinationStream } from 'pino';
import type { LogLevel } from '../config/config.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  level: LogLevel;
  /** Where lines go. @defaultValue stdout (the container runtime contract) */
  destination?: DestinationStream;
  /** Extra fields on every line (e.g. Knative revision). */
  base?: Record<string, unknown>;
}

export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: traceFields,
      // Secrets never reach a log line, whichever object a call site passes.
      redact: {
        paths: [
          'apiToken',
          'token',
          'password',
          'redisUrl',
          'authorization',
          'headers.authorization',
          '*.authorization',
          // AWS credentials, should an SDK object ever reach a log call.
          'credentials',
          '*.credentials',
          'secretAccessKey',
          '*.secretAccessKey',
          'sessionToken',
          '*.sessionToken',
        ],
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** Formats one pino JSON line for people; a line that is not JSON is returned as it is. */
export type LineFormatter = (line: string) => string;

/**
 * A formatter that makes pino lines human-readable on a terminal (`batchinfer run`), for its
 * own lines and those read from its consumer processes alike. pino-pretty is imported here,
 * lazily: services (JSON to stdout) never load it.
 */
export async function prettyFormatter(colorize: boolean): Promise<LineFormatter> {
  const { prettyFactory } = commonJs(await import('pino-pretty'));
  const toText = prettyFactory({ colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true });
  return (line) => {
    if (!line.trimStart().startsWith('{')) return line;
    try {
      return toText(line).replace(/\n$/, '');
    } catch {
      return line;
    }
  };
}
