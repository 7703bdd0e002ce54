/**
 * pino JSON logs. Every line written inside an active span carries `trace_id` and
 * `span_id`, so a log search by trace finds the whole batch.
 */
import { trace } from '@opentelemetry/api';
import { pino } from 'pino';
import type { Logger, DestinationStream } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  level: LogLevel;
  /** Where lines go. @defaultValue stdout (the container runtime contract) */
  destination?: DestinationStream;
  /** Extra fields on every line (e.g. Knative revision). */
  base?: Record<string, unknown>;
}

function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
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
        paths: ['apiToken', 'token', 'password', 'redisUrl', 'authorization', 'headers.authorization', '*.authorization'],
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
