/**
 * Tracing set-up for every command. The SDK is loaded only when tracing is enabled (see
 * `TelemetryConfig.tracesEnabled`); disabled, only the OTel API is present: spans are
 * no-ops, nothing is propagated, nothing is exported, nothing is paid.
 *
 * Enabled, it is the trace pipeline `@opentelemetry/sdk-node` would build from the standard
 * `OTEL_*` variables (context manager, propagators, sampler, batch span processor, the OTLP
 * exporter of the configured protocol, env/process/host resource), assembled from the SDK's
 * own packages instead of `NodeSDK`: `NodeSDK` imports every exporter of every signal
 * (gRPC, logs, metrics, Prometheus, Zipkin) up front: importing it took ~650 ms on a quiet
 * machine here (0.8-2.7 s under load) against ~130 ms for the trace packages alone, more
 * than a consumer's whole cold-start budget (500 ms to its first chunk). So sdk-node is not
 * a dependency; these are the packages it is built from. Only the exporter the protocol names is imported. Only traces are
 * set up: metrics go through the Prometheus exporter, logs through pino to stdout.
 */
import { context, diag, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import type { DiagLogger, TextMapPropagator } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { Sampler, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import { commonJs } from './commonjs.js';
import type { Config, OtelLogLevel, OtlpProtocol, TelemetryConfig } from '../config/config.js';

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

/** The OTLP trace exporter for `protocol`; it reads its endpoint, headers and timeout from `OTEL_EXPORTER_OTLP_*`. */
async function otlpExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case 'http/json':
      return new (commonJs(await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter)();
    case 'grpc':
      return new (commonJs(await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter)();
    case 'http/protobuf':
      return new (commonJs(await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter)();
  }
}

async function buildSampler(sampler: TelemetryConfig['sampler']): Promise<Sampler> {
  const sdk = commonJs(await import('@opentelemetry/sdk-trace'));
  const root: Record<string, () => Sampler> = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: () => new sdk.TraceIdRatioBasedSampler(sampler.ratio),
  };
  const name = sampler.name.replace(/^parentbased_/, '');
  const base = (root[name] ?? root.always_on)?.() ?? new sdk.AlwaysOnSampler();
  return sampler.name.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root: base }) : base;
}

async function buildPropagator(names: TelemetryConfig['propagators']): Promise<TextMapPropagator | undefined> {
  if (names.length === 0) return undefined;
  const core = commonJs(await import('@opentelemetry/core'));
  const propagators = names.map((name) => (name === 'baggage' ? new core.W3CBaggagePropagator() : new core.W3CTraceContextPropagator()));
  return new core.CompositePropagator({ propagators });
}

async function buildResource(config: Config, serviceName: string): Promise<Resource> {
  const res = commonJs(await import('@opentelemetry/resources'));
  // Later merges win: the command's default name < Knative < OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME.
  return res
    .defaultResource()
    .merge(res.resourceFromAttributes({ 'service.name': serviceName, ...knativeResourceAttributes(config.knative) }))
    .merge(res.detectResources({ detectors: [res.processDetector, res.hostDetector, res.envDetector] }));
}

/**
 * Starts tracing when the configuration enables it, and returns the handle whose
 * `shutdown` the drain path calls. Call once per process, before any span is started.
 */
export async function startTelemetry(config: Config, options: TelemetryOptions): Promise<Telemetry> {
  const settings = config.telemetry;
  if (!settings.tracesEnabled) return DISABLED;
  diag.setLogger(diagLogger(options.logger), { logLevel: DIAG_LEVELS[settings.diagLogLevel], suppressOverrideMessage: true });
  const [sdkModule, contextModule] = await Promise.all([import('@opentelemetry/sdk-trace'), import('@opentelemetry/context-async-hooks')]);
  const sdk = commonJs(sdkModule);
  const { AsyncLocalStorageContextManager } = commonJs(contextModule);
  const spanProcessors: SpanProcessor[] = [];
  for (const name of settings.exporters) {
    if (name === 'console') spanProcessors.push(new sdk.SimpleSpanProcessor({ exporter: new sdk.ConsoleSpanExporter() }));
    else spanProcessors.push(new sdk.BatchSpanProcessor({ exporter: await otlpExporter(settings.protocol), ...settings.batchProcessor }));
  }
  const provider = new sdk.TracerProvider({
    resource: await buildResource(config, settings.serviceName ?? options.serviceName),
    sampler: await buildSampler(settings.sampler),
    spanProcessors,
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const propagator = await buildPropagator(settings.propagators);
  if (propagator) propagation.setGlobalPropagator(propagator);
  trace.setGlobalTracerProvider(provider);

  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown(timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS) {
      stopping ??= withTimeout(provider.shutdown(), timeoutMs).catch((err: unknown) => {
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
