import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { loadConfig } from '../../src/shared/config/config.js';
import type { Config, TelemetryConfig } from '../../src/shared/config/config.js';
import { ConfigError } from '../../src/shared/errors.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      model: 'sum',
      chunkSize: 1000,
      queuePrefix: '{batchinfer}',
      datasetAllowedSchemes: ['http', 'https', 's3'],
      s3ForcePathStyle: false,
      datasetAllowPrivateNetworks: false,
      costPerCpuHour: 0.04,
      costPerMemoryGbHour: 0.005,
      cpuLimitCores: 0.5,
      memoryLimitGiB: 0.5,
      logLevel: 'info',
      cloudEventsRequireToken: true,
      teamBudgetsUsd: {},
      scheduleMaxInterval: { defaultSeconds: 90000, bySchedule: {} },
      exporterSampleSeconds: 5,
      exporterHistorySeconds: 3600,
    });
    expect(c.redisUrl).toBeUndefined();
  });

  it('has production-safe fault settings by default, which tests can shorten', () => {
    expect(loadConfig({})).toMatchObject({
      chunkAttempts: 3,
      ingestSplits: true,
      ingestWindowChunks: 256,
      ingestWindowSplits: 1024,
      chunkBackoffMs: 1000,
      chunkLockDurationMs: 30_000,
      chunkStalledIntervalMs: 15_000,
      chunkMaxStalledCount: 3,
      ingestLeaseMs: 30_000,
      ingestAttempts: 3,
      datasetRetries: 5,
    });
    const short = loadConfig({
      CHUNK_LOCK_DURATION_MS: '2000',
      CHUNK_STALLED_INTERVAL_MS: '500',
      CHUNK_MAX_STALLED_COUNT: '0',
      CHUNK_BACKOFF_MS: '0',
      INGEST_LEASE_MS: '1500',
      INGEST_ATTEMPTS: '1',
      DATASET_RETRIES: '0',
    });
    expect(short).toMatchObject({
      chunkLockDurationMs: 2000,
      chunkStalledIntervalMs: 500,
      chunkMaxStalledCount: 0,
      chunkBackoffMs: 0,
      ingestLeaseMs: 1500,
      ingestAttempts: 1,
      datasetRetries: 0,
    });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['CHUNK_SIZE', '0'],
    ['CPU_LIMIT', 'lots'],
    ['MEMORY_LIMIT', '-1'],
    ['COST_PER_CPU_HOUR', 'free'],
    ['DATASET_ALLOW_PRIVATE_NETWORKS', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['CLOUDEVENTS_REQUIRE_TOKEN', 'sometimes'],
    ['REDIS_URL', 'http://x'],
    ['K_SINK', 'not a url'],
    ['K_CE_OVERRIDES', '{"extensions": 3}'],
    ['K_CE_OVERRIDES', '{"extensions": {"Not-Valid": "x"}}'],
    ['OTEL_TRACES_EXPORTER', 'jaeger'],
    ['OTEL_PROPAGATORS', 'b3'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http'],
    ['OTEL_TRACES_SAMPLER', 'sometimes'],
    ['OTEL_TRACES_SAMPLER_ARG', '2'],
    ['OTEL_SDK_DISABLED', 'perhaps'],
    ['OTEL_BSP_SCHEDULE_DELAY', 'soon'],
    ['OTEL_LOG_LEVEL', 'chatty'],
    ['TRACE_RECORD_SAMPLE_RATIO', '1.5'],
    ['DATASET_ALLOWED_CIDRS', '127.0.0.2/33'],
    ['DATASET_ALLOWED_CIDRS', 'intranet'],
    ['DATASET_FETCH_TIMEOUT_SECONDS', '0'],
    ['MAX_RECORDS_PER_BATCH', 'many'],
    ['MAX_CONCURRENT_INGESTS', '0'],
    ['REDIS_TLS_CA_FILE', '/nonexistent/ca.pem'],
    ['CHUNK_LOCK_DURATION_MS', '100'],
    ['CHUNK_STALLED_INTERVAL_MS', 'soon'],
    ['CHUNK_MAX_STALLED_COUNT', '-1'],
    ['CHUNK_BACKOFF_MS', '1.5'],
    ['INGEST_LEASE_MS', '0'],
    ['INGEST_ATTEMPTS', '0'],
    ['DATASET_RETRIES', 'many'],
    ['TEAM_BUDGETS_USD', 'risk=100'],
    ['TEAM_BUDGETS_USD', '{"risk": "lots"}'],
    ['TEAM_BUDGETS_USD', '{"risk": -1}'],
    ['TEAM_BUDGETS_USD', '[100]'],
    ['SCHEDULE_MAX_INTERVAL_SECONDS', 'daily'],
    ['SCHEDULE_MAX_INTERVAL_SECONDS', '0'],
    ['SCHEDULE_MAX_INTERVAL_SECONDS', '{"nightly": true}'],
    ['EXPORTER_SAMPLE_SECONDS', '0'],
    ['EXPORTER_HISTORY_SECONDS', '10'],
    ['BATCHINFER_SERVER', 'localhost:8080'],
    ['BATCHINFER_SERVER', 'not a url'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'thrift'],
    ['OTEL_EXPORTER_OTLP_TIMEOUT', 'soon'],
    ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', '0'],
    ['OTEL_RESOURCE_ATTRIBUTES', 'service.name=%E0%A4%A'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '0'],
  ])('names %s when its value %s is malformed', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.variable).toBe(name);
  });

  it('never echoes a malformed REDIS_URL (it may hold a password)', () => {
    const err = configError({ REDIS_URL: 'secret-password@@' });
    expect(err.message).not.toContain('secret-password');
  });

  it('lets CLOUDEVENTS_REQUIRE_TOKEN open POST / for sources that cannot send a token', () => {
    expect(loadConfig({ CLOUDEVENTS_REQUIRE_TOKEN: 'false' }).cloudEventsRequireToken).toBe(false);
  });

  it('says which variables the environment set, so commands decide on config rather than the environment', () => {
    const c = loadConfig({ OUTPUT_URL: 'file:///data/out', LOG_LEVEL: '  ', PATH: '/usr/bin', QUEUE_PREFIX: '' });
    expect(c.explicitlySet.has('OUTPUT_URL')).toBe(true);
    // Blank is unset, as for every reader; variables config does not read are not listed.
    expect(c.explicitlySet.has('LOG_LEVEL')).toBe(false);
    expect(c.explicitlySet.has('QUEUE_PREFIX')).toBe(false);
    expect(c.explicitlySet.has('PATH')).toBe(false);
    expect(loadConfig({}).explicitlySet.size).toBe(0);
  });

  it("takes a command's defaults where the environment sets nothing, validated, and not as set", () => {
    const defaults = { DATASET_ALLOWED_SCHEMES: 'file,http,https' };
    const c = loadConfig({}, defaults);
    expect(c.datasetAllowedSchemes).toEqual(['file', 'http', 'https']);
    expect(c.explicitlySet.has('DATASET_ALLOWED_SCHEMES')).toBe(false);
    expect(loadConfig({ DATASET_ALLOWED_SCHEMES: 'https' }, defaults).datasetAllowedSchemes).toEqual(['https']);
    expect(loadConfig({ DATASET_ALLOWED_SCHEMES: ' ' }, defaults).datasetAllowedSchemes).toEqual(['file', 'http', 'https']);
    expect(() => loadConfig({}, { CHUNK_SIZE: 'many' })).toThrow(ConfigError);
  });

  it('reads K_CE_OVERRIDES extensions', () => {
    expect(loadConfig({ K_CE_OVERRIDES: '{"extensions":{"team":"risk"}}' }).kCeOverrides).toEqual({ team: 'risk' });
  });

  describe('tracing', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318' };
    it.each<[string, Record<string, string>, boolean]>([
      ['off with nothing configured (quiet, no SDK loaded)', {}, false],
      ['on with an OTLP endpoint', endpoint, true],
      ['on with a traces-only endpoint', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }, true],
      ['on with an exporter named explicitly', { OTEL_TRACES_EXPORTER: 'console' }, true],
      ['off with OTEL_TRACES_EXPORTER=none, endpoint or not', { ...endpoint, OTEL_TRACES_EXPORTER: 'none' }, false],
      ['off with OTEL_SDK_DISABLED=true', { ...endpoint, OTEL_SDK_DISABLED: 'true' }, false],
    ])('is %s', (_name, env, enabled) => {
      expect(loadConfig(env).telemetry.tracesEnabled).toBe(enabled);
    });

    it('takes the service name from OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES, else leaves it to the command', () => {
      expect(loadConfig({}).telemetry.serviceName).toBeUndefined();
      expect(loadConfig({ OTEL_SERVICE_NAME: 'scorer' }).telemetry.serviceName).toBe('scorer');
      expect(loadConfig({ OTEL_RESOURCE_ATTRIBUTES: 'team=risk,service.name=nightly%20scorer' }).telemetry.serviceName).toBe(
        'nightly scorer',
      );
    });

    it('reads what the SDK is built from: exporter, protocol, sampler, batch processor, propagators', () => {
      expect(loadConfig(endpoint).telemetry).toMatchObject({
        exporters: ['otlp'],
        protocol: 'http/protobuf',
        sampler: { name: 'parentbased_always_on', ratio: 1 },
        batchProcessor: {},
        propagators: ['tracecontext', 'baggage'],
      });
      const custom = loadConfig({
        ...endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_BSP_SCHEDULE_DELAY: '1000',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '128',
        OTEL_PROPAGATORS: 'none',
      }).telemetry;
      expect(custom).toMatchObject({
        protocol: 'http/json',
        sampler: { name: 'parentbased_traceidratio', ratio: 0.25 },
        batchProcessor: { scheduledDelayMillis: 1000, maxExportBatchSize: 128 },
        propagators: [],
      });
    });

    it('has per-record spans off by default', () => {
      expect(loadConfig({}).telemetry.recordSampleRatio).toBe(0);
      expect(loadConfig({ TRACE_RECORD_SAMPLE_RATIO: '0.001' }).telemetry.recordSampleRatio).toBe(0.001);
    });
  });
  it('has the documented defaults for the security and load limits', () => {
    expect(loadConfig({})).toMatchObject({
      datasetAllowedCidrs: [],
      datasetFetchTimeoutSeconds: 14_400,
      maxRecordsPerBatch: 100_000_000,
      maxConcurrentIngests: 8,
      maxRequestBytes: 65_536,
      maxLineBytes: 1_048_576,
      redisTlsCa: undefined,
    });
  });

  it('reads DATASET_ALLOWED_CIDRS as normalised IPs and CIDR ranges', () => {
    expect(loadConfig({ DATASET_ALLOWED_CIDRS: '127.0.0.2/32, 10.1.0.0/16,FD00:0:0::1' }).datasetAllowedCidrs).toEqual([
      '127.0.0.2/32',
      '10.1.0.0/16',
      'fd00::1',
    ]);
  });

  it('reads the Redis CA file named by REDIS_TLS_CA_FILE', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bi-ca-')), 'ca.pem');
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(loadConfig({ REDIS_TLS_CA_FILE: file }).redisTlsCa).toContain('BEGIN CERTIFICATE');
  });

  it('reads the load and size limits', () => {
    expect(loadConfig({ MAX_CONCURRENT_INGESTS: '3', MAX_RECORDS_PER_BATCH: '10', DATASET_FETCH_TIMEOUT_SECONDS: '2' })).toMatchObject({
      maxConcurrentIngests: 3,
      maxRecordsPerBatch: 10,
      datasetFetchTimeoutSeconds: 2,
    });
  });

  it('reads team budgets as JSON', () => {
    expect(loadConfig({ TEAM_BUDGETS_USD: '{"risk": 100, "fraud": 0.5}' }).teamBudgetsUsd).toEqual({ risk: 100, fraud: 0.5 });
  });

  it('reads the allowed gap between scheduled runs as a number or per schedule with a * default', () => {
    expect(loadConfig({ SCHEDULE_MAX_INTERVAL_SECONDS: '7200' }).scheduleMaxInterval).toEqual({ defaultSeconds: 7200, bySchedule: {} });
    expect(loadConfig({ SCHEDULE_MAX_INTERVAL_SECONDS: '{"nightly": 90000, "*": 3600}' }).scheduleMaxInterval).toEqual({
      defaultSeconds: 3600,
      bySchedule: { nightly: 90000 },
    });
    expect(loadConfig({ SCHEDULE_MAX_INTERVAL_SECONDS: '{"hourly": 4000}' }).scheduleMaxInterval).toEqual({
      defaultSeconds: 90000,
      bySchedule: { hourly: 4000 },
    });
  });

  it('keeps the shape the rest of the code uses (field names and types)', () => {
    type Expected = {
      redisUrl: string | undefined;
      redisTlsCa: string | undefined;
      queuePrefix: string;
      port: number;
      outputUrl: string;
      s3ForcePathStyle: boolean;
      model: string;
      modelRoot: string;
      modelSha256: string | undefined;
      modelBatchSize: number | undefined;
      modelCacheDir: string;
      onnxExecutionProvider: 'cpu' | 'cuda';
      chunkSize: number;
      apiToken: string | undefined;
      cloudEventsRequireToken: boolean;
      datasetAllowedSchemes: string[];
      datasetAllowPrivateNetworks: boolean;
      datasetAllowedCidrs: string[];
      datasetFetchTimeoutSeconds: number;
      maxRecordsPerBatch: number;
      maxConcurrentIngests: number;
      logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
      costPerCpuHour: number;
      costPerGpuHour: number;
      gpuLimit: number;
      costPerMemoryGbHour: number;
      cpuLimitCores: number;
      memoryLimitGiB: number;
      consumerConcurrency: number;
      chunkAttempts: number;
      ingestSplits: boolean;
      ingestWindowChunks: number;
      ingestWindowSplits: number;
      chunkBackoffMs: number;
      chunkLockDurationMs: number;
      chunkStalledIntervalMs: number;
      chunkMaxStalledCount: number;
      ingestLeaseMs: number;
      ingestAttempts: number;
      datasetRetries: number;
      maxRequestBytes: number;
      maxLineBytes: number;
      maxDatasetBytes: number;
      drainTimeoutSeconds: number;
      batchTtlSeconds: number;
      kSink: string | undefined;
      kCeOverrides: Record<string, string>;
      knative: { service?: string; revision?: string; configuration?: string };
      telemetry: TelemetryConfig;
      teamBudgetsUsd: Record<string, number>;
      scheduleMaxInterval: { defaultSeconds: number; bySchedule: Record<string, number> };
      metricLabelValuesMax: number;
      exporterSampleSeconds: number;
      exporterHistorySeconds: number;
      batchinferServer: string;
      explicitlySet: ReadonlySet<string>;
    };
    expectTypeOf<Config>().toEqualTypeOf<Expected>();
    expectTypeOf<TelemetryConfig>().toEqualTypeOf<{
      tracesEnabled: boolean;
      serviceName: string | undefined;
      diagLogLevel: 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';
      exporters: ('otlp' | 'console')[];
      protocol: 'http/protobuf' | 'http/json' | 'grpc';
      sampler: {
        name: 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
        ratio: number;
      };
      batchProcessor: { scheduledDelayMillis?: number; exportTimeoutMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number };
      propagators: ('tracecontext' | 'baggage')[];
      recordSampleRatio: number;
    }>();
    // And at run time: every field is there, the Knative ones too when Knative sets nothing.
    expect(Object.keys(loadConfig({})).length).toBe(56);
    expect(Object.keys(loadConfig({}).knative).sort()).toEqual(['configuration', 'revision', 'service']);
  });

  it('reads BATCHINFER_SERVER for the client commands, http://localhost:8080 by default', () => {
    expect(loadConfig({}).batchinferServer).toBe('http://localhost:8080/');
    expect(loadConfig({ BATCHINFER_SERVER: 'https://batchinfer.example.com/api' }).batchinferServer).toBe(
      'https://batchinfer.example.com/api',
    );
  });

  it('reads the model variables: a malformed MODEL_SHA256 or MODEL_BATCH_SIZE names the variable', () => {
    const hex = 'AB'.repeat(32);
    expect(loadConfig({ MODEL_SHA256: hex, MODEL_BATCH_SIZE: '64' })).toMatchObject({ modelSha256: hex.toLowerCase(), modelBatchSize: 64 });
    expect(loadConfig({}).modelBatchSize).toBeUndefined();
    expect(() => loadConfig({ MODEL_SHA256: 'abc' })).toThrow(expect.objectContaining({ variable: 'MODEL_SHA256' }));
    expect(() => loadConfig({ MODEL_BATCH_SIZE: '0' })).toThrow(expect.objectContaining({ variable: 'MODEL_BATCH_SIZE' }));
  });

  it('resolves MODEL_ROOT against the working directory, ./models by default', () => {
    expect(loadConfig({}).modelRoot).toBe(path.resolve('models'));
    expect(loadConfig({ MODEL_ROOT: '/srv/models' }).modelRoot).toBe(path.resolve('/srv/models'));
  });

  it('checks OTEL_EXPORTER_OTLP_TRACES_ENDPOINT even when the base endpoint is set (the exporter prefers it)', () => {
    const err = configError({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' });
    expect(err.variable).toBe('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  });

  it('names the variable a command default is malformed in, like the environment', () => {
    expect(() => loadConfig({}, { DATASET_ALLOWED_CIDRS: 'intranet' })).toThrow(ConfigError);
  });
});
