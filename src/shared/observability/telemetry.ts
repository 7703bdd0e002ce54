/**
 * Tracing set-up for every command, on `@opentelemetry/sdk-node`'s `NodeSDK`. The SDK is
 * loaded only when tracing is enabled (see `TelemetryConfig.tracesEnabled`); disabled, only
 * the OTel API is present: spans are no-ops, nothing is propagated, exported or paid.
 *
 * Enabled, `NodeSDK` builds the trace pipeline from the standard `OTEL_*` variables itself
 * (exporter and OTLP protocol, sampler, propagators, batch span processor, env/process/host
 * resource); the config module has already checked them, so a malformed one stopped the
 * process with one line before this runs. What is set here: the command's default
 * `service.name` and Knative's `K_*` as resource attributes, traces only (metrics go through
 * the Prometheus exporter, logs through pino to stdout), no instrumentations (docs/tracing.md
 * says why), and the SDK's diagnostics as pino lines.
 *
 * Start-up cost: imported unbundled, sdk-node takes ~650 ms; from the ESM-first minified
 * bundle the image runs (scripts/bundle.mjs) it is a fraction of that (BENCHMARKS.md).
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { commonJs } from './commonjs.js';
import type { Config, OtelLogLevel } from '../config/config.js';

export interface Telemetry {
  /** True when spans are recorded and exported. */
  readonly enabled: boolean;
  /**
   * Exports every span still buffered, then stops the SDK. Bounded by `timeoutMs` so that a
   * collector that is down cannot hold a shutdown past the pod's grace period. Idempotent.
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

export interface TelemetryOptions {
  /** `service.name` when `OTEL_SERVICE_NAME` does not set one (e.g. `batchinfer-consumer`). */
  serviceName: string;
  /** Where the SDK's own diagnostics go (at `OTEL_LOG_LEVEL`, default warn). */
  logger: Logger;
}

/** How long a shutdown may spend exporting what is left. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;

const DISABLED: Telemetry = { enabled: false, shutdown: () => Promise.resolve() };

const DIAG_LEVELS: Record<OtelLogLevel, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/** The SDK's diagnostics as pino lines (never on the console: stdout carries JSON logs). */
function diagLogger(logger: Logger): DiagLogger {
  const log = logger.child({ component: 'otel' });
  return {
    error: (msg, ...args) => log.warn({ args }, msg),
    warn: (msg, ...args) => log.warn({ args }, msg),
    info: (msg, ...args) => log.info({ args }, msg),
    debug: (msg, ...args) => log.debug({ args }, msg),
    verbose: (msg, ...args) => log.trace({ args }, msg),
  };
}

/** Knative's runtime contract as resource attributes (`faas.*` is OTel's mapping for it). */
export function knativeResourceAttributes(knative: Config['knative']): Record<string, string> {
  const attributes: Record<string, string> = {};
  if (knative.service) {
    attributes['faas.name'] = knative.service;
    attributes['knative.service'] = knative.service;
  }
  if (knative.revision) {
    attributes['faas.version'] = knative.revision;
    attributes['knative.revision'] = knative.revision;
  }
  if (knative.configuration) attributes['knative.configuration'] = knative.configuration;
  return attributes;
}

/**
 * Starts tracing when the configuration enables it, and returns the handle whose
 * `shutdown` the drain path calls. Call once per process, before any span is started.
 */
export async function startTelemetry(config: Config, options: TelemetryOptions): Promise<Telemetry> {
  const settings = config.telemetry;
  if (!settings.tracesEnabled) return DISABLED;
  // `NodeSDK` from its own module: the package index also loads `startNodeSDK`'s declarative
  // configuration (a YAML parser and its schema, ~0.5 MB bundled) that nothing here uses.
  const [{ NodeSDK }, resources] = await Promise.all([
    import('@opentelemetry/sdk-node/build/src/sdk.js').then(commonJs),
    import('@opentelemetry/resources').then(commonJs),
  ]);
  const sdk = new NodeSDK({
    // Lowest precedence: NodeSDK merges the env detector (OTEL_RESOURCE_ATTRIBUTES,
    // OTEL_SERVICE_NAME), process and host over it.
    resource: resources
      .defaultResource()
      .merge(resources.resourceFromAttributes({ 'service.name': options.serviceName, ...knativeResourceAttributes(config.knative) })),
    // Traces only: without these NodeSDK would also export metrics and logs over OTLP by default.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  // After the constructor, which installs a console logger when OTEL_LOG_LEVEL is set.
  diag.setLogger(diagLogger(options.logger), { logLevel: DIAG_LEVELS[settings.diagLogLevel], suppressOverrideMessage: true });
  sdk.start();

  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown(timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS) {
      stopping ??= withTimeout(sdk.shutdown(), timeoutMs).catch((err: unknown) => {
        options.logger.warn({ err }, 'telemetry shutdown failed; buffered spans may be lost');
      });
      return stopping;
    },
  };
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`telemetry shutdown took longer than ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
