/**
 * The one place environment variables are read. Each variable goes through a typed reader
 * with a default; a malformed value throws a {@link ConfigError} naming the variable, and
 * the CLI prints that one line and exits before anything starts.
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './errors.js';
import { parseCpuQuantity, parseMemoryQuantityGiB } from './quantity.js';

export type Env = Readonly<Record<string, string | undefined>>;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** `REDIS_URL`; undefined means "not configured" (`batchinfer run` then starts its own). */
  redisUrl: string | undefined;
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
  const items = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
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
  return Object.fromEntries(Object.entries(extensions).map(([k, v]) => [k, String(v)]));
}

/** Reads the whole configuration from `env`. Throws {@link ConfigError} on the first bad value. */
export function loadConfig(env: Env = process.env): Config {
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
    logLevel: readEnum(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    costPerCpuHour: readNumber(env, 'COST_PER_CPU_HOUR', 0.04),
    costPerMemoryGbHour: readNumber(env, 'COST_PER_MEMORY_GB_HOUR', 0.005),
    cpuLimitCores,
    memoryLimitGiB,
    consumerConcurrency: readInt(env, 'CONSUMER_CONCURRENCY', 2, 1, 256),
    chunkAttempts: readInt(env, 'CHUNK_ATTEMPTS', 3, 1, 100),
    maxRequestBytes: readInt(env, 'MAX_REQUEST_BYTES', 64 * 1024, 1024),
    maxLineBytes: readInt(env, 'MAX_LINE_BYTES', 1024 * 1024, 64),
    maxDatasetBytes: readInt(env, 'MAX_DATASET_BYTES', 50 * 1024 ** 3, 1),
    drainTimeoutSeconds: readInt(env, 'DRAIN_TIMEOUT_SECONDS', 20, 1, 3600),
    batchTtlSeconds: readInt(env, 'BATCH_TTL_SECONDS', 7 * 24 * 3600, 60),
    kSink: readUrl(env, 'K_SINK'),
    kCeOverrides: readCeOverrides(env),
    knative: {
      service: readOptionalString(env, 'K_SERVICE'),
      revision: readOptionalString(env, 'K_REVISION'),
      configuration: readOptionalString(env, 'K_CONFIGURATION'),
    },
  };
}
