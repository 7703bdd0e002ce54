/**
 * The one place environment variables are read. Each variable goes through a typed reader
 * with a default; a malformed value throws a {@link ConfigError} naming the variable, and
 * the CLI prints that one line and exits before anything starts.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ipaddr from 'ipaddr.js';
import { ConfigError } from '../errors.js';
import { parseCpuQuantity, parseMemoryQuantityGiB } from './quantity.js';

export type Env = Readonly<Record<string, string | undefined>>;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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

/**
 * Tracing, from the standard `OTEL_*` variables. The variables that choose what to load
 * (exporter, protocol, sampler, batch processor, propagators) are read here; the OTLP
 * exporter reads its own transport settings (`OTEL_EXPORTER_OTLP_ENDPOINT`, `_HEADERS`,
 * `_TIMEOUT`, `_COMPRESSION`) and the resource detector `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES`, which are validated here too so a malformed value fails at
 * start with one line.
 */
export interface TelemetryConfig {
  /**
   * Whether spans are recorded and exported. Off unless an OTLP endpoint is configured
   * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) or
   * `OTEL_TRACES_EXPORTER` names an exporter explicitly; `OTEL_TRACES_EXPORTER=none` or
   * `OTEL_SDK_DISABLED=true` turn it off. Off means no SDK loaded, no spans, no cost.
   * @defaultValue false
   */
  tracesEnabled: boolean;
  /**
   * `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`); when unset each
   * command names itself (`batchinfer-producer`, `batchinfer-consumer`, `batchinfer-run`).
   */
  serviceName: string | undefined;
  /** `OTEL_LOG_LEVEL`: the SDK's own diagnostics, written to our log. @defaultValue `warn` */
  diagLogLevel: OtelLogLevel;
  /** `OTEL_TRACES_EXPORTER`, without `none`. @defaultValue `['otlp']` */
  exporters: TraceExporterName[];
  /** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`. @defaultValue `http/protobuf` */
  protocol: OtlpProtocol;
  /** `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. @defaultValue `parentbased_always_on`, 1 */
  sampler: { name: SamplerName; ratio: number };
  /** `OTEL_BSP_*`; unset fields keep the SDK's defaults (5000 ms, 30000 ms, 2048, 512). */
  batchProcessor: { scheduledDelayMillis?: number; exportTimeoutMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number };
  /** `OTEL_PROPAGATORS` (`none`: propagate nothing). @defaultValue `['tracecontext', 'baggage']` */
  propagators: PropagatorName[];
  /**
   * `TRACE_RECORD_SAMPLE_RATIO`: fraction (0..1) of records that get a span of their own
   * under their chunk's inference span. Opt-in: a 10M-record batch must not emit 10M spans.
   * @defaultValue 0
   */
  recordSampleRatio: number;
}

export interface Config {
  /** `REDIS_URL`; undefined means "not configured" (`batchinfer run` then starts its own). */
  redisUrl: string | undefined;
  /**
   * The PEM contents of `REDIS_TLS_CA_FILE`: the CA that signed the Redis server's
   * certificate, for `rediss://` URLs to a private CA. Read at start, so a missing file
   * fails the process at once. @defaultValue unset (the system's trusted CAs)
   */
  redisTlsCa: string | undefined;
  /**
   * `QUEUE_PREFIX`, the key prefix of every Redis key. Hash-tagged so that all keys share one
   * Redis Cluster slot. @defaultValue `{batchinfer}`
   */
  queuePrefix: string;
  /** `PORT` the service listens on. @defaultValue 8080 */
  port: number;
  /** `OUTPUT_URL`, where batches are written unless a request says otherwise. */
  outputUrl: string;
  /** `MODEL`, the model used when a request names none. @defaultValue `sum` */
  model: string;
  /** `MODEL_ROOT`, the only folder model files may be loaded from. @defaultValue `./models` */
  modelRoot: string;
  /** `CHUNK_SIZE`, records per chunk unless a request says otherwise. @defaultValue 1000 */
  chunkSize: number;
  /** `API_TOKEN`, bearer token required by the producer API when set. */
  apiToken: string | undefined;
  /**
   * `CLOUDEVENTS_REQUIRE_TOKEN`: whether `POST /` (CloudEvents) needs the bearer token too.
   * Knative's PingSource adapter and Broker cannot send one, so a cluster that routes them to
   * the producer sets this to false and keeps the producer cluster-local. @defaultValue true
   */
  cloudEventsRequireToken: boolean;
  /** `DATASET_ALLOWED_SCHEMES`. @defaultValue `http,https` */
  datasetAllowedSchemes: string[];
  /** `DATASET_ALLOW_PRIVATE_NETWORKS`. @defaultValue false */
  datasetAllowPrivateNetworks: boolean;
  /**
   * `DATASET_ALLOWED_CIDRS`: addresses and CIDR ranges a dataset may be fetched from even
   * though they are private or loopback (an in-cluster object store, a test server).
   * Narrower than `DATASET_ALLOW_PRIVATE_NETWORKS`: every other private address stays
   * refused, redirect hops included. @defaultValue none
   */
  datasetAllowedCidrs: string[];
  /**
   * `DATASET_FETCH_TIMEOUT_SECONDS`: the longest a dataset may take to read, start to end,
   * whatever the pace (the idle timeout only catches a stalled stream, not a trickle).
   * @defaultValue 14400 (4 hours)
   */
  datasetFetchTimeoutSeconds: number;
  /** `MAX_RECORDS_PER_BATCH`: a dataset with more records fails its batch. @defaultValue 100000000 */
  maxRecordsPerBatch: number;
  /**
   * `MAX_CONCURRENT_INGESTS`: datasets one producer reads at once. Past it, submissions are
   * answered 429 with `Retry-After` instead of slowing every ingest down. @defaultValue 8
   */
  maxConcurrentIngests: number;
  /** `LOG_LEVEL`. @defaultValue `info` */
  logLevel: LogLevel;
  /** `COST_PER_CPU_HOUR` in USD. @defaultValue 0.04 */
  costPerCpuHour: number;
  /** `COST_PER_MEMORY_GB_HOUR` in USD. @defaultValue 0.005 */
  costPerMemoryGbHour: number;
  /** `CPU_LIMIT`, the consumer's CPU limit in cores (Kubernetes quantity). @defaultValue 500m */
  cpuLimitCores: number;
  /** `MEMORY_LIMIT`, the consumer's memory limit in GiB (Kubernetes quantity). @defaultValue 512Mi */
  memoryLimitGiB: number;
  /** `CONSUMER_CONCURRENCY`, chunks one consumer process works on at once. @defaultValue 2 */
  consumerConcurrency: number;
  /** `CHUNK_ATTEMPTS`, tries per chunk before it is failed. @defaultValue 3 */
  chunkAttempts: number;
  /**
   * `CHUNK_BACKOFF_MS`, the delay before a failed chunk's second try; it doubles with every
   * further try. @defaultValue 1000
   */
  chunkBackoffMs: number;
  /**
   * `CHUNK_LOCK_DURATION_MS`: how long a consumer's claim on a chunk lasts without being
   * renewed (it renews at half this). A consumer killed mid-chunk (OOM, node loss) stops
   * renewing, and its chunk is taken up again by another consumer after at most this plus
   * `CHUNK_STALLED_INTERVAL_MS`. Shorter recovers faster; too short and a consumer whose event
   * loop is busy longer than this loses chunks it is still working on (harmless, they are
   * idempotent, but wasted). @defaultValue 30000
   */
  chunkLockDurationMs: number;
  /** `CHUNK_STALLED_INTERVAL_MS`, how often consumers look for chunks whose claim lapsed. @defaultValue 15000 */
  chunkStalledIntervalMs: number;
  /**
   * `CHUNK_MAX_STALLED_COUNT`: how many times a chunk may lose its consumer before it is failed
   * (a chunk that kills every consumer it lands on, e.g. by OOM, must not go round forever).
   * @defaultValue 3
   */
  chunkMaxStalledCount: number;
  /**
   * `INGEST_LEASE_MS`: an ingesting producer holds a lease on its batch and renews it; when a
   * producer dies mid-ingest the lease lapses after this long, and a live producer resumes the
   * ingest. @defaultValue 30000
   */
  ingestLeaseMs: number;
  /** `INGEST_ATTEMPTS`, times an ingest may be started (first + resumes) before its batch fails. @defaultValue 3 */
  ingestAttempts: number;
  /**
   * `DATASET_RETRIES`: retries of a dataset read that fails (HTTP 5xx/429, connection refused
   * or cut mid-stream), with exponential backoff. A cut stream resumes where it stopped (HTTP
   * Range, guarded by ETag/Last-Modified so a changed file is never stitched together). The
   * count restarts whenever a retry makes progress. @defaultValue 5
   */
  datasetRetries: number;
  /** `MAX_REQUEST_BYTES`, largest accepted request body. @defaultValue 65536 */
  maxRequestBytes: number;
  /** `MAX_LINE_BYTES`, longest accepted record line; longer is a record error. @defaultValue 1 MiB */
  maxLineBytes: number;
  /** `MAX_DATASET_BYTES`, largest dataset (decompressed). @defaultValue 50 GiB */
  maxDatasetBytes: number;
  /**
   * `DRAIN_TIMEOUT_SECONDS`: on SIGTERM, how long a consumer lets its active chunks finish
   * before handing them back to the queue (the producer: its ingests, before failing them).
   * The whole drain may take 10 s more, so keep this + 10 below the pod's grace period; on
   * Knative the grace period is the revision's `timeoutSeconds`, of which the queue-proxy's
   * drain takes the first 30 s before SIGTERM reaches the container. @defaultValue 20
   */
  drainTimeoutSeconds: number;
  /** `BATCH_TTL_SECONDS`, how long a finished batch's state stays in Redis. @defaultValue 7 days */
  batchTtlSeconds: number;
  /** Knative SinkBinding's `K_SINK`: where `batch.completed` events go. */
  kSink: string | undefined;
  /** Knative SinkBinding's `K_CE_OVERRIDES` extensions, applied to emitted events. */
  kCeOverrides: Record<string, string>;
  /** Knative's `K_SERVICE`, `K_REVISION`, `K_CONFIGURATION`, when running on Knative. */
  knative: { service?: string; revision?: string; configuration?: string };
  /** Tracing (OpenTelemetry). */
  telemetry: TelemetryConfig;
  /**
   * `TEAM_BUDGETS_USD`, monthly budget per team in USD as JSON (`{"risk": 100}`); the exporter
   * publishes this calendar month's (UTC) cost over it as `batchinfer_budget_used_ratio`.
   * @defaultValue `{}` (no budgets)
   */
  teamBudgetsUsd: Record<string, number>;
  /**
   * `SCHEDULE_MAX_INTERVAL_SECONDS`: longest expected gap between two batches of a schedule,
   * after which the "scheduled run missed" alert fires. A number for every schedule, or JSON
   * `{"nightly": 90000, "*": 7200}` (`*` is the default). @defaultValue 90000 (25 h) for all
   */
  scheduleMaxInterval: { defaultSeconds: number; bySchedule: Record<string, number> };
  /** `EXPORTER_SAMPLE_SECONDS`, how often the exporter samples Redis for its page's charts. @defaultValue 5 */
  exporterSampleSeconds: number;
  /** `EXPORTER_HISTORY_SECONDS`, how much history the exporter's page keeps in memory. @defaultValue 3600 */
  exporterHistorySeconds: number;
  /**
   * The variables the environment sets (to a non-blank value), of those read here: for a
   * command whose default differs from a service's (`batchinfer run` writes to `./output`
   * and logs at `warn` unless `OUTPUT_URL` / `LOG_LEVEL` say otherwise), so it need not
   * read the environment itself. Defaults passed to {@link loadConfig} are not in it.
   */
  explicitlySet: ReadonlySet<string>;
}

function raw(env: Env, name: string): string | undefined {
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

export function readNumber(env: Env, name: string, fallback: number, min = 0): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new ConfigError(name, `expected a number >= ${min}, got '${value}'`);
  return n;
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

export function readUrl(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  try {
    return new URL(value).toString();
  } catch {
    throw new ConfigError(name, `expected a URL, got '${value}'`);
  }
}

function readRedisUrl(env: Env): string | undefined {
  const value = raw(env, 'REDIS_URL');
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never echo the value: it may carry a password.
    throw new ConfigError('REDIS_URL', 'expected redis://[user:password@]host:port[/db] or rediss://...');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', `expected the redis: or rediss: scheme, got '${url.protocol}'`);
  }
  return value;
}

/** CloudEvents attribute names: lower-case letters and digits (CloudEvents 1.0). */
const CE_ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;

/** IPs and CIDRs, checked now so a typo fails at start rather than allowing nothing. */
function readCidrList(env: Env, name: string): string[] {
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

function readFileContents(env: Env, name: string): string | undefined {
  const file = raw(env, name);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(name, `cannot read '${file}': ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function readCeOverrides(env: Env): Record<string, string> {
  const value = raw(env, 'K_CE_OVERRIDES');
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError('K_CE_OVERRIDES', 'expected JSON like {"extensions":{"key":"value"}}');
  }
  const extensions = (parsed as { extensions?: unknown } | null)?.extensions;
  if (extensions === undefined) return {};
  if (typeof extensions !== 'object' || extensions === null || Array.isArray(extensions)) {
    throw new ConfigError('K_CE_OVERRIDES', 'expected "extensions" to be an object');
  }
  for (const name of Object.keys(extensions)) {
    if (!CE_ATTRIBUTE_NAME.test(name)) {
      throw new ConfigError('K_CE_OVERRIDES', `extension name '${name}' must be 1-20 lower-case letters or digits`);
    }
  }
  return Object.fromEntries(Object.entries(extensions).map(([k, v]) => [k, String(v)]));
}

function readHttpUrl(env: Env, name: string): string | undefined {
  const value = readUrl(env, name);
  if (value !== undefined && !/^https?:/.test(value))
    throw new ConfigError(name, `expected an http:// or https:// URL, got '${raw(env, name)}'`);
  return value;
}

function readRatio(env: Env, name: string, fallback: number): number {
  const value = readNumber(env, name, fallback);
  if (value > 1) throw new ConfigError(name, `expected a number from 0 to 1, got ${value}`);
  return value;
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

function readOptionalInt(env: Env, name: string, min: number, max?: number): number | undefined {
  return raw(env, name) === undefined ? undefined : readInt(env, name, min, min, max);
}

function readNames<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T[]): T[] {
  const names = readList(env, name, fallback);
  for (const n of names) {
    if (!(allowed as readonly string[]).includes(n))
      throw new ConfigError(name, `expected a comma list of ${allowed.join(', ')}, got '${n}'`);
  }
  return [...new Set(names as T[])];
}

export function readTelemetryConfig(env: Env): TelemetryConfig {
  const disabled = readBool(env, 'OTEL_SDK_DISABLED', false);
  const exporterNames = readNames(env, 'OTEL_TRACES_EXPORTER', OTEL_TRACES_EXPORTERS, []);
  const endpoint = readHttpUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') ?? readHttpUrl(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const exporters = exporterNames.filter((e): e is TraceExporterName => e !== 'none');
  const explicitlyOff = exporterNames.length > 0 && exporters.length === 0;
  const protocol = readEnum(
    env,
    'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
    OTLP_PROTOCOLS,
    readEnum(env, 'OTEL_EXPORTER_OTLP_PROTOCOL', OTLP_PROTOCOLS, 'http/protobuf'),
  );
  readOptionalInt(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', 1);
  readOptionalInt(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 1);
  const batchProcessor: TelemetryConfig['batchProcessor'] = {};
  const bsp = [
    ['scheduledDelayMillis', 'OTEL_BSP_SCHEDULE_DELAY'],
    ['exportTimeoutMillis', 'OTEL_BSP_EXPORT_TIMEOUT'],
    ['maxQueueSize', 'OTEL_BSP_MAX_QUEUE_SIZE'],
    ['maxExportBatchSize', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'],
  ] as const;
  for (const [field, name] of bsp) {
    const value = readOptionalInt(env, name, 1);
    if (value !== undefined) batchProcessor[field] = value;
  }
  const propagators = readNames(env, 'OTEL_PROPAGATORS', OTEL_PROPAGATORS, ['tracecontext', 'baggage']);
  return {
    tracesEnabled: !disabled && !explicitlyOff && (exporters.length > 0 || endpoint !== undefined),
    serviceName: readOptionalString(env, 'OTEL_SERVICE_NAME') ?? serviceNameFromResourceAttributes(env),
    diagLogLevel: readEnum(env, 'OTEL_LOG_LEVEL', OTEL_LOG_LEVELS, 'warn'),
    recordSampleRatio: readRatio(env, 'TRACE_RECORD_SAMPLE_RATIO', 0),
    exporters: exporters.length > 0 ? exporters : ['otlp'],
    protocol,
    sampler: {
      name: readEnum(env, 'OTEL_TRACES_SAMPLER', OTEL_SAMPLERS, 'parentbased_always_on'),
      ratio: readRatio(env, 'OTEL_TRACES_SAMPLER_ARG', 1),
    },
    batchProcessor,
    propagators: propagators.includes('none') ? [] : propagators.filter((p): p is PropagatorName => p !== 'none'),
  };
}

function parseJsonObject(name: string, value: string, example: string): Record<string, unknown> {
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

function nonNegativeNumbers(name: string, object: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(object)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(name, `'${key}' must be a number >= 0`);
    out[key] = v;
  }
  return out;
}

function readTeamBudgets(env: Env): Record<string, number> {
  const value = raw(env, 'TEAM_BUDGETS_USD');
  if (value === undefined) return {};
  return nonNegativeNumbers('TEAM_BUDGETS_USD', parseJsonObject('TEAM_BUDGETS_USD', value, '{"risk": 100}'));
}

const DEFAULT_SCHEDULE_MAX_INTERVAL_SECONDS = 25 * 3600;

function readScheduleMaxInterval(env: Env): Config['scheduleMaxInterval'] {
  const name = 'SCHEDULE_MAX_INTERVAL_SECONDS';
  const value = raw(env, name);
  if (value === undefined) return { defaultSeconds: DEFAULT_SCHEDULE_MAX_INTERVAL_SECONDS, bySchedule: {} };
  if (!value.startsWith('{')) return { defaultSeconds: readNumber(env, name, DEFAULT_SCHEDULE_MAX_INTERVAL_SECONDS, 1), bySchedule: {} };
  const { '*': fallback, ...bySchedule } = nonNegativeNumbers(name, parseJsonObject(name, value, '{"nightly": 90000, "*": 7200}'));
  return { defaultSeconds: fallback ?? DEFAULT_SCHEDULE_MAX_INTERVAL_SECONDS, bySchedule };
}

/**
 * `env` as the readers see it: a blank value is unset and falls back to `defaults`; every
 * variable read with a non-blank value in `env` itself is added to `explicitlySet`.
 */
function recordingEnv(env: Env, defaults: Env, explicitlySet: Set<string>): Env {
  return new Proxy(env, {
    get(target, name) {
      if (typeof name !== 'string') return undefined;
      const value = target[name];
      if (value !== undefined && value.trim() !== '') {
        explicitlySet.add(name);
        return value;
      }
      return defaults[name];
    },
  });
}

/**
 * Reads the whole configuration from `env`. Throws {@link ConfigError} on the first bad value.
 * @param defaults - values a command uses where `env` sets nothing (e.g. `batchinfer run`
 *   also allows `file` datasets); they are checked like the environment's own.
 */
export function loadConfig(processEnv: Env = process.env, defaults: Env = {}): Config {
  const explicitlySet = new Set<string>();
  const env = recordingEnv(processEnv, defaults, explicitlySet);
  const cpuLimit = readString(env, 'CPU_LIMIT', '500m');
  const memoryLimit = readString(env, 'MEMORY_LIMIT', '512Mi');
  const cpuLimitCores = parseCpuQuantity(cpuLimit);
  if (cpuLimitCores === undefined) throw new ConfigError('CPU_LIMIT', `expected a CPU quantity like 500m or 2, got '${cpuLimit}'`);
  const memoryLimitGiB = parseMemoryQuantityGiB(memoryLimit);
  if (memoryLimitGiB === undefined) {
    throw new ConfigError('MEMORY_LIMIT', `expected a memory quantity like 512Mi or 1Gi, got '${memoryLimit}'`);
  }
  return {
    redisUrl: readRedisUrl(env),
    redisTlsCa: readFileContents(env, 'REDIS_TLS_CA_FILE'),
    queuePrefix: readString(env, 'QUEUE_PREFIX', '{batchinfer}'),
    port: readInt(env, 'PORT', 8080, 0, 65535),
    outputUrl: readUrl(env, 'OUTPUT_URL') ?? pathToFileURL(path.join(os.tmpdir(), 'batchinfer-output')).toString(),
    model: readString(env, 'MODEL', 'sum'),
    modelRoot: path.resolve(readString(env, 'MODEL_ROOT', 'models')),
    chunkSize: readInt(env, 'CHUNK_SIZE', 1000, 1, 1_000_000),
    apiToken: readOptionalString(env, 'API_TOKEN'),
    cloudEventsRequireToken: readBool(env, 'CLOUDEVENTS_REQUIRE_TOKEN', true),
    datasetAllowedSchemes: readList(env, 'DATASET_ALLOWED_SCHEMES', ['http', 'https']),
    datasetAllowPrivateNetworks: readBool(env, 'DATASET_ALLOW_PRIVATE_NETWORKS', false),
    datasetAllowedCidrs: readCidrList(env, 'DATASET_ALLOWED_CIDRS'),
    datasetFetchTimeoutSeconds: readInt(env, 'DATASET_FETCH_TIMEOUT_SECONDS', 4 * 3600, 1),
    maxRecordsPerBatch: readInt(env, 'MAX_RECORDS_PER_BATCH', 100_000_000, 1),
    maxConcurrentIngests: readInt(env, 'MAX_CONCURRENT_INGESTS', 8, 1, 10_000),
    logLevel: readEnum(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    costPerCpuHour: readNumber(env, 'COST_PER_CPU_HOUR', 0.04),
    costPerMemoryGbHour: readNumber(env, 'COST_PER_MEMORY_GB_HOUR', 0.005),
    cpuLimitCores,
    memoryLimitGiB,
    consumerConcurrency: readInt(env, 'CONSUMER_CONCURRENCY', 2, 1, 256),
    chunkAttempts: readInt(env, 'CHUNK_ATTEMPTS', 3, 1, 100),
    chunkBackoffMs: readInt(env, 'CHUNK_BACKOFF_MS', 1000, 0, 3_600_000),
    chunkLockDurationMs: readInt(env, 'CHUNK_LOCK_DURATION_MS', 30_000, 500, 3_600_000),
    chunkStalledIntervalMs: readInt(env, 'CHUNK_STALLED_INTERVAL_MS', 15_000, 100, 3_600_000),
    chunkMaxStalledCount: readInt(env, 'CHUNK_MAX_STALLED_COUNT', 3, 0, 1000),
    ingestLeaseMs: readInt(env, 'INGEST_LEASE_MS', 30_000, 500, 3_600_000),
    ingestAttempts: readInt(env, 'INGEST_ATTEMPTS', 3, 1, 100),
    datasetRetries: readInt(env, 'DATASET_RETRIES', 5, 0, 100),
    maxRequestBytes: readInt(env, 'MAX_REQUEST_BYTES', 64 * 1024, 1024),
    maxLineBytes: readInt(env, 'MAX_LINE_BYTES', 1024 * 1024, 64),
    maxDatasetBytes: readInt(env, 'MAX_DATASET_BYTES', 50 * 1024 ** 3, 1),
    drainTimeoutSeconds: readInt(env, 'DRAIN_TIMEOUT_SECONDS', 20, 1, 3600),
    batchTtlSeconds: readInt(env, 'BATCH_TTL_SECONDS', 7 * 24 * 3600, 60),
    kSink: readHttpUrl(env, 'K_SINK'),
    kCeOverrides: readCeOverrides(env),
    knative: {
      service: readOptionalString(env, 'K_SERVICE'),
      revision: readOptionalString(env, 'K_REVISION'),
      configuration: readOptionalString(env, 'K_CONFIGURATION'),
    },
    telemetry: readTelemetryConfig(env),
    teamBudgetsUsd: readTeamBudgets(env),
    scheduleMaxInterval: readScheduleMaxInterval(env),
    exporterSampleSeconds: readInt(env, 'EXPORTER_SAMPLE_SECONDS', 5, 1, 3600),
    exporterHistorySeconds: readInt(env, 'EXPORTER_HISTORY_SECONDS', 3600, 60, 7 * 24 * 3600),
    explicitlySet,
  };
}
