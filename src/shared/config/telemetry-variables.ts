/**
 * Tracing, from the standard `OTEL_*` variables. `NodeSDK` reads them itself (exporter,
 * protocol, sampler, propagators, batch processor, resource) and the OTLP exporter its
 * transport settings; they are defined and checked here all the same, so each is documented
 * once and a malformed value fails at start with one line instead of a silent fallback to a
 * default. `TelemetryConfig` is what they add up to (whether tracing is on at all decides
 * whether the SDK is loaded). docs/tracing.md explains how they fit together.
 */
import { ConfigError } from '../errors.js';
import { raw, readEnum } from './readers.js';
import type { Env } from './readers.js';
import { flag, httpUrl, names, oneOf, optionalInt, optionalText, parsed, ratio, readByLibrary, readTable, section } from './variable.js';

/** Values of `OTEL_TRACES_EXPORTER` supported here. */
export const OTEL_TRACES_EXPORTERS = ['otlp', 'console', 'none'] as const;
export type TraceExporterName = Exclude<(typeof OTEL_TRACES_EXPORTERS)[number], 'none'>;
/** Values of `OTEL_EXPORTER_OTLP_PROTOCOL` / `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
/** Values of `OTEL_PROPAGATORS` supported here. */
export const OTEL_PROPAGATORS = ['tracecontext', 'baggage', 'none'] as const;
export type PropagatorName = Exclude<(typeof OTEL_PROPAGATORS)[number], 'none'>;
/** Values of `OTEL_TRACES_SAMPLER` the SDK understands. */
export const OTEL_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof OTEL_SAMPLERS)[number];
/** Values of `OTEL_LOG_LEVEL` (the SDK's own diagnostics). */
export const OTEL_LOG_LEVELS = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'] as const;
export type OtelLogLevel = (typeof OTEL_LOG_LEVELS)[number];

/** What the tracing setup is built from; each field's variables are in {@link TELEMETRY_VARIABLES}. */
export interface TelemetryConfig {
  /**
   * Off unless an OTLP endpoint is configured or `OTEL_TRACES_EXPORTER` names an exporter;
   * `none` or `OTEL_SDK_DISABLED=true` turn it off. Off means no SDK loaded, no spans, no cost.
   */
  tracesEnabled: boolean;
  /** Undefined when neither variable names the service: each command then names itself. */
  serviceName: string | undefined;
  diagLogLevel: OtelLogLevel;
  /** Without `none`; `['otlp']` when none is named. */
  exporters: TraceExporterName[];
  /** The traces-specific protocol, else the general one. */
  protocol: OtlpProtocol;
  sampler: { name: SamplerName; ratio: number };
  /** Unset fields keep the SDK's defaults. */
  batchProcessor: { scheduledDelayMillis?: number; exportTimeoutMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number };
  /** Empty for `none`. */
  propagators: PropagatorName[];
  recordSampleRatio: number;
}

/** `service.name` from `OTEL_RESOURCE_ATTRIBUTES` (`key=value,key=value`, values URL-encoded). */
function serviceNameFromResourceAttributes(env: Env): string | undefined {
  const value = raw(env, 'OTEL_RESOURCE_ATTRIBUTES');
  if (value === undefined) return undefined;
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === 'service.name') {
      try {
        return decodeURIComponent(pair.slice(eq + 1).trim()) || undefined;
      } catch {
        throw new ConfigError('OTEL_RESOURCE_ATTRIBUTES', 'expected key=value pairs with URL-encoded values');
      }
    }
  }
  return undefined;
}

const TRACED = ['producer', 'consumer', 'exporter', 'run'] as const;
const BY_EXPORTER = 'Read by the OTLP exporter itself, as the OpenTelemetry specification says';

const batchProcessorSetting = (name: string, doc: string, sdkDefault: string) =>
  optionalInt(name, { services: TRACED, min: 1, shownDefault: `SDK default (${sdkDefault})`, doc: `Batch span processor: ${doc}` });

export const TELEMETRY_VARIABLES = {
  endpoint: httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', {
    services: TRACED,
    doc: 'OTLP collector base URL (e.g. `http://otel-collector:4318`). Setting it turns tracing on.',
    note: 'With no endpoint and no `OTEL_TRACES_EXPORTER`, tracing is off: no SDK loaded, no spans, no export attempts.',
  }),
  tracesEndpoint: httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', {
    services: TRACED,
    doc: 'Full traces URL, instead of the base URL above. Setting it turns tracing on.',
  }),
  exporters: names('OTEL_TRACES_EXPORTER', {
    services: TRACED,
    values: OTEL_TRACES_EXPORTERS,
    default: [],
    shownDefault: '`otlp` when an endpoint is set',
    doc: 'Span exporters: naming one turns tracing on, `none` turns it off.',
  }),
  protocol: oneOf('OTEL_EXPORTER_OTLP_PROTOCOL', {
    services: TRACED,
    values: OTLP_PROTOCOLS,
    default: 'http/protobuf',
    doc: 'OTLP transport.',
  }),
  tracesProtocol: parsed('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', {
    services: TRACED,
    doc: 'OTLP transport for traces, instead of the general one.',
    accepts: `one of ${OTLP_PROTOCOLS.map((p) => `\`${p}\``).join(', ')}`,
    shownDefault: '`OTEL_EXPORTER_OTLP_PROTOCOL`',
    read: (env) =>
      raw(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') === undefined
        ? undefined
        : readEnum(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', OTLP_PROTOCOLS, 'http/protobuf'),
  }),
  headers: readByLibrary('OTEL_EXPORTER_OTLP_HEADERS', {
    services: TRACED,
    accepts: '`key=value,...`',
    shownDefault: 'unset',
    doc: `Headers sent to the collector, e.g. its auth. ${BY_EXPORTER}.`,
  }),
  tracesHeaders: readByLibrary('OTEL_EXPORTER_OTLP_TRACES_HEADERS', {
    services: TRACED,
    accepts: '`key=value,...`',
    shownDefault: 'unset',
    doc: `Headers for the traces endpoint only. ${BY_EXPORTER}.`,
  }),
  timeout: optionalInt('OTEL_EXPORTER_OTLP_TIMEOUT', {
    services: TRACED,
    min: 1,
    shownDefault: 'SDK default (10000)',
    doc: `Milliseconds an export may take. ${BY_EXPORTER}; checked here.`,
  }),
  tracesTimeout: optionalInt('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', {
    services: TRACED,
    min: 1,
    shownDefault: '`OTEL_EXPORTER_OTLP_TIMEOUT`',
    doc: `Milliseconds a traces export may take. ${BY_EXPORTER}; checked here.`,
  }),
  compression: readByLibrary('OTEL_EXPORTER_OTLP_COMPRESSION', {
    services: TRACED,
    accepts: '`gzip` or `none`',
    shownDefault: 'SDK default',
    doc: `Compression of exports. ${BY_EXPORTER}.`,
  }),
  tracesCompression: readByLibrary('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', {
    services: TRACED,
    accepts: '`gzip` or `none`',
    shownDefault: '`OTEL_EXPORTER_OTLP_COMPRESSION`',
    doc: `Compression of traces exports. ${BY_EXPORTER}.`,
  }),
  serviceName: optionalText('OTEL_SERVICE_NAME', {
    services: TRACED,
    shownDefault: '`batchinfer-<command>`: `batchinfer-producer`, `-consumer`, `-exporter`, `-run`',
    doc: '`service.name` of the spans.',
  }),
  resourceServiceName: parsed('OTEL_RESOURCE_ATTRIBUTES', {
    services: TRACED,
    doc: 'Extra resource attributes of every span; a `service.name` here names the service when `OTEL_SERVICE_NAME` does not.',
    accepts: '`key=value,...`, values URL-encoded',
    shownDefault: 'unset',
    read: serviceNameFromResourceAttributes,
  }),
  sampler: oneOf('OTEL_TRACES_SAMPLER', {
    services: TRACED,
    values: OTEL_SAMPLERS,
    default: 'parentbased_always_on',
    doc: "Head sampling; `parentbased_*` follows the incoming `traceparent`'s sampled flag.",
  }),
  samplerRatio: ratio('OTEL_TRACES_SAMPLER_ARG', {
    services: TRACED,
    default: 1,
    doc: 'Fraction of traces the `traceidratio` samplers keep.',
  }),
  scheduledDelayMillis: batchProcessorSetting(
    'OTEL_BSP_SCHEDULE_DELAY',
    'ms between exports. Pending spans are flushed on SIGTERM.',
    '5000',
  ),
  exportTimeoutMillis: batchProcessorSetting('OTEL_BSP_EXPORT_TIMEOUT', 'ms one export may take.', '30000'),
  maxQueueSize: batchProcessorSetting('OTEL_BSP_MAX_QUEUE_SIZE', 'spans held before more are dropped.', '2048'),
  maxExportBatchSize: batchProcessorSetting('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'spans per export.', '512'),
  propagators: names('OTEL_PROPAGATORS', {
    services: TRACED,
    values: OTEL_PROPAGATORS,
    default: ['tracecontext', 'baggage'],
    doc: 'Context propagation formats; `none` propagates nothing.',
  }),
  sdkDisabled: flag('OTEL_SDK_DISABLED', { services: TRACED, default: false, doc: '`true` turns tracing off whatever else is set.' }),
  diagLogLevel: oneOf('OTEL_LOG_LEVEL', {
    services: TRACED,
    values: OTEL_LOG_LEVELS,
    default: 'warn',
    doc: 'The OTel SDK\'s own diagnostics (e.g. a failing export), written as log lines with `component: "otel"`.',
  }),
  recordSampleRatio: ratio('TRACE_RECORD_SAMPLE_RATIO', {
    services: ['consumer', 'run'],
    default: 0,
    doc: "Fraction of records that get a span of their own under their chunk's inference span.",
    note: 'Opt-in: a 10M-record batch must not emit 10M spans.',
  }),
} as const;

export function readTelemetryConfig(env: Env): TelemetryConfig {
  const v = readTable(TELEMETRY_VARIABLES, env);
  const exporters = v.exporters.filter((e): e is TraceExporterName => e !== 'none');
  const explicitlyOff = v.exporters.length > 0 && exporters.length === 0;
  const endpoint = v.endpoint ?? v.tracesEndpoint;
  const batchProcessor: TelemetryConfig['batchProcessor'] = {};
  for (const field of ['scheduledDelayMillis', 'exportTimeoutMillis', 'maxQueueSize', 'maxExportBatchSize'] as const) {
    const value = v[field];
    if (value !== undefined) batchProcessor[field] = value;
  }
  return {
    tracesEnabled: !v.sdkDisabled && !explicitlyOff && (exporters.length > 0 || endpoint !== undefined),
    serviceName: v.serviceName ?? v.resourceServiceName,
    diagLogLevel: v.diagLogLevel,
    recordSampleRatio: v.recordSampleRatio,
    exporters: exporters.length > 0 ? exporters : ['otlp'],
    protocol: v.tracesProtocol ?? v.protocol,
    sampler: { name: v.sampler, ratio: v.samplerRatio },
    batchProcessor,
    propagators: v.propagators.includes('none') ? [] : v.propagators.filter((p): p is PropagatorName => p !== 'none'),
  };
}

export const TELEMETRY_SECTION = section(
  'Tracing',
  'Standard OpenTelemetry variables, read by the OpenTelemetry Node SDK (`NodeSDK`). A batch is one trace, end to end, when tracing is on; see [tracing.md](tracing.md).',
  TELEMETRY_VARIABLES,
);
