/**
 * `batchinfer run <dataset>`: the whole pipeline on one machine. Checks the dataset and the
 * output first (run-preflight.ts), uses `REDIS_URL` or starts a private redis-server,
 * ingests in this process (the producer's code, without HTTP), runs N consumer processes
 * (consumer-pool.ts), shows progress on a TTY, and prints the batch summary. Whatever ends
 * it (the batch, an error, Ctrl-C), the consumers, the private Redis and its folder go.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { parseBatchRequest } from '../producer/batch-request.js';
import { BatchService } from '../producer/batch-service.js';
import { IngestLeases } from '../producer/ingest-lease.js';
import { BatchCloser } from '../shared/batch/batch-closer.js';
import { describeBatchError } from '../shared/batch/batch-error.js';
import type { Manifest } from '../shared/batch/batch-closer.js';
import { LabelValues } from '../shared/batch/label-values.js';
import { BatchStore } from '../shared/batch/batch-store.js';
import { SplitWindow } from '../shared/batch/split-window.js';
import { SplitLineLedger } from '../shared/batch/split-lines.js';
import { installCompletionEvents } from '../shared/events/completion-hook.js';
import { createChunkQueue } from '../shared/events/chunk-queue.js';
import { loadConfig } from '../shared/config/config.js';
import type { Config } from '../shared/config/config.js';
import { RedisUnavailableError } from '../shared/errors.js';
import { createLogger, prettyFormatter } from '../shared/observability/logger.js';
import type { LineFormatter } from '../shared/observability/logger.js';
import { createRedis, redisEndpoint, waitForRedis } from '../shared/redis.js';
import { MANIFEST_NAME } from '../shared/io/sinks/output-layout.js';
import { normaliseOutputUrl, openBatchSink } from '../shared/io/sinks/registry.js';
import { startTelemetry } from '../shared/observability/telemetry.js';
import { ATTR, tracer } from '../shared/observability/tracing.js';
import { TERMINAL_STATUSES } from '../shared/types.js';
import type { BatchView } from '../shared/types.js';
import { positiveInt } from './args.js';
import { batchExitCode, describeBatch, outputLocation } from './batch-report.js';
import { booleanFlag, listFlag, onePositional, stringFlag } from './command-spec.js';
import type { ParsedCommand } from './command-spec.js';
import { RUN_SPEC } from './command-specs.js';
import { ConsumerPool } from './consumer-pool.js';
import { sleep, watchInterrupts } from './interrupts.js';
import { parseLabels } from './labels.js';
import { startLocalRedis } from './local-redis.js';
import type { LocalRedis } from './local-redis.js';
import { ProgressReporter } from './progress.js';
import { runChunkSize } from './run-chunk-size.js';
import { checkLocalDataset, checkOutput, datasetUrl } from './run-preflight.js';
import { checkCsvColumns, readSchemaFlags, schemaFlagValues } from './schema-flags.js';
import type { SchemaFlags } from './schema-flags.js';
import { removeStaleRedisDirs } from './stale-redis-dirs.js';

/** Status poll: cheap (two Redis reads), and the run ends at most this long after the batch. */
const POLL_MS = 50;

interface RunOptions {
  dataset: string;
  model?: string;
  output: string;
  chunkSize?: number;
  consumers: number;
  format?: string;
  labels: Record<string, string>;
  json: boolean;
  schema: SchemaFlags;
}

function readOptions(parsed: ParsedCommand, config: Config): RunOptions {
  const output = stringFlag(parsed, 'output');
  const options: RunOptions = {
    dataset: onePositional(RUN_SPEC, parsed),
    output: output ?? (config.explicitlySet.has('OUTPUT_URL') ? config.outputUrl : path.resolve('output')),
    // One consumer per core: the ingest in this process mostly waits on Redis and the disk,
    // so it shares a core well (see BENCHMARKS.md).
    consumers: positiveInt(stringFlag(parsed, 'consumers'), '--consumers') ?? os.availableParallelism(),
    labels: parseLabels(listFlag(parsed, 'label')),
    json: booleanFlag(parsed, 'json'),
    schema: readSchemaFlags(schemaFlagValues(parsed)),
  };
  const model = stringFlag(parsed, 'model');
  if (model !== undefined) options.model = model;
  const format = stringFlag(parsed, 'format');
  if (format !== undefined) options.format = format;
  const chunkSize = positiveInt(stringFlag(parsed, 'chunk-size'), '--chunk-size');
  if (chunkSize !== undefined) options.chunkSize = chunkSize;
  return options;
}

/** What `--json` prints: the manifest's figures, the batch's counts, and where things are. */
export interface RunSummary extends Omit<Partial<Manifest>, 'status' | 'output' | 'error'> {
  id: string;
  status: BatchView['status'];
  output: string;
  manifest: string | null;
  records: BatchView['records'];
  chunks: BatchView['chunks'];
  /** Records per chunk: `--chunk-size`, `CHUNK_SIZE`, or what `run` picked for the dataset (run-chunk-size.ts). */
  chunkSize: number;
  wallSeconds: number;
  recordsPerSecond: number;
  /** True when the dataset held no records (the batch completed with nothing to do). */
  emptyDataset: boolean;
  /** Local consumers are not held to `CPU_LIMIT`: cost is priced at it, CPU use may exceed it. */
  cpuLimit: { cores: number; enforced: false };
  error?: string;
}

/** Said wherever the CPU figures are: why efficiency can exceed 1 on a laptop. */
const cpuNote = (cores: number): string =>
  `local consumers run without a CPU limit: cost is priced as if each had CPU_LIMIT=${cores} core(s), so efficiency above 1 means they used more`;

export async function runCommand(parsed: ParsedCommand): Promise<number> {
  // `run` reads local files; services do not unless configured to.
  const config = loadConfig(process.env, { DATASET_ALLOWED_SCHEMES: 'file,http,https,s3' });
  // A local run is quiet unless LOG_LEVEL asks for more; its consumers log alike.
  const logLevel = config.explicitlySet.has('LOG_LEVEL') ? config.logLevel : 'warn';
  const options = readOptions(parsed, config);
  const outputUrl = normaliseOutputUrl(options.output);
  const dataset = datasetUrl(options.dataset);
  await checkLocalDataset(dataset);
  await checkCsvColumns(dataset, options.format, options.schema);
  await checkOutput(outputUrl);

  const progress = new ProgressReporter(process.stderr, !options.json || process.stderr.isTTY);
  // People read a terminal; anything else (a file, CI, `--json` piped) gets JSON lines.
  const formatLine: LineFormatter = process.stderr.isTTY ? await prettyFormatter(true) : (line) => line;
  const logger = createLogger({
    service: 'batchinfer-run',
    level: logLevel,
    // Through the progress reporter, so log lines never run into the progress bar.
    destination: { write: (line: string) => progress.log(formatLine(line.replace(/\n$/, ''))) },
  });

  let localRedis: LocalRedis | undefined;
  let pool: ConsumerPool | undefined;
  // A second Ctrl-C skips the orderly stop: kill what runs, remove the folder, exit 130.
  const interrupts = watchInterrupts(() => {
    pool?.killNow();
    localRedis?.killNow();
  });
  // Consumers are started with this process's environment, so they trace when it does.
  const telemetry = await startTelemetry(config, { serviceName: 'batchinfer-run', logger });
  // The root of the run's trace: the ingest here and every consumer's chunk spans below it.
  const runSpan = tracer.startSpan('batchinfer run', {}, ROOT_CONTEXT);
  let redis: Redis | undefined;
  let service: BatchService | undefined;
  const started = Date.now();
  try {
    let redisUrl = config.redisUrl;
    if (!redisUrl) {
      const removed = await removeStaleRedisDirs();
      if (removed.length) logger.info({ removed }, 'removed the Redis folders of earlier runs that were killed');
      // Not raced against Ctrl-C: it takes a moment, and must be stopped once it started.
      localRedis = await startLocalRedis();
      redisUrl = localRedis.url;
    }
    // A private prefix keeps a run's consumers off any other work sharing the Redis.
    const prefix = config.explicitlySet.has('QUEUE_PREFIX') ? config.queuePrefix : `{batchinfer-run-${randomBytes(4).toString('hex')}}`;
    const modelRoot = options.schema.modelRoot ?? config.modelRoot;
    const runConfig: Config = { ...config, redisUrl, queuePrefix: prefix, outputUrl, modelRoot };
    redis = createRedis(redisEndpoint(config, redisUrl), 'worker');
    await Promise.race([
      waitForRedis(redis).catch((err: Error) => {
        throw new RedisUnavailableError(
          `cannot connect to Redis at REDIS_URL: ${err.message} (is it running? unset REDIS_URL to use a private redis-server)`,
          { cause: err },
        );
      }),
      interrupts.rejected,
    ]);
    const request = parseBatchRequest(
      {
        datasetUrl: dataset,
        ...(options.model ? { model: options.model } : {}),
        ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
        ...(options.format ? { format: options.format } : {}),
        labels: options.labels,
        ...options.schema.request,
      },
      { config: runConfig },
    );
    const store = new BatchStore(redis, prefix, config.batchTtlSeconds);
    const queue = createChunkQueue(redis, { prefix, attempts: config.chunkAttempts, backoffMs: config.chunkBackoffMs });
    const closer = new BatchCloser(store, logger, outputUrl, new SplitLineLedger(redis, prefix, config.batchTtlSeconds));
    installCompletionEvents(closer, runConfig, logger);
    // The lease keeps producers sharing this Redis and prefix from taking the ingest over.
    const leases = new IngestLeases(redis, prefix, { leaseMs: config.ingestLeaseMs, maxAttempts: config.ingestAttempts });
    const labelValues = new LabelValues(redis, prefix, config.metricLabelValuesMax);
    const splitWindow = new SplitWindow(redis, queue, prefix, config.batchTtlSeconds);
    service = new BatchService({ queue, splitWindow, store, closer, config: runConfig, logger, leases, labelValues });

    pool = new ConsumerPool(
      options.consumers,
      {
        ...process.env,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        OUTPUT_URL: outputUrl,
        // Consumers read the splits of the datasets `run` reads.
        DATASET_ALLOWED_SCHEMES: config.datasetAllowedSchemes.join(','),
        MODEL_ROOT: modelRoot,
        PORT: '0',
        LOG_LEVEL: logLevel,
      },
      (line) => progress.log(formatLine(line)),
    );
    pool.start();
    // Sized while the consumers start (they take longer): see run-chunk-size.ts.
    if (options.chunkSize === undefined && !config.explicitlySet.has('CHUNK_SIZE') && config.ingestSplits) {
      const sized = await runChunkSize(request, options.consumers * config.consumerConcurrency, config);
      if (sized !== undefined) request.chunkSize = sized;
    }
    logger.info({ chunk_size: request.chunkSize, consumers: options.consumers }, 'chunk size chosen');
    const submitted = service.submit(request, { traceContext: trace.setSpan(ROOT_CONTEXT, runSpan) });
    const { id } = await Promise.race([submitted, interrupts.rejected]);
    runSpan.setAttribute(ATTR.batchId, id);

    let view: BatchView | null = null;
    for (;;) {
      view = await store.get(id);
      if (!view) throw new Error(`batch ${id} disappeared from Redis`);
      progress.update(view);
      if (TERMINAL_STATUSES.includes(view.status)) break;
      if (pool.alive === 0 && view.status === 'running') throw new Error('all consumers exited; see the log above');
      await sleep(POLL_MS, interrupts);
    }
    progress.finish();
    await queue.close();

    const sink = openBatchSink(outputUrl, id, outputUrl);
    const manifestText = await sink.read(MANIFEST_NAME);
    const manifest = manifestText ? (JSON.parse(manifestText) as Manifest) : undefined;
    const wallSeconds = (Date.now() - started) / 1000;
    const folder = outputLocation(sink.url);
    const summary: RunSummary = {
      ...manifest,
      id,
      status: view.status,
      output: folder,
      manifest: manifest ? `${folder}${sink.url.startsWith('file:') ? path.sep : '/'}${MANIFEST_NAME}` : null,
      records: view.records,
      chunks: view.chunks,
      chunkSize: request.chunkSize,
      wallSeconds,
      recordsPerSecond: (view.records.succeeded + view.records.failed) / wallSeconds,
      emptyDataset: view.status === 'completed' && view.records.total === 0,
      cpuLimit: { cores: config.cpuLimitCores, enforced: false },
    };
    // The manifest's line names every failed chunk and the first one's cause; a halted batch has none.
    if (view.error) summary.error = manifest?.error ?? describeBatchError(view.error);
    runSpan.setAttribute(ATTR.batchStatus, view.status);
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      const lines = describeBatch(
        { ...view, output: { ...view.output, url: sink.url } },
        { wallSeconds, avgPrediction: manifest?.avg_prediction ?? null, cpuNote: cpuNote(config.cpuLimitCores) },
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return batchExitCode(view);
  } finally {
    progress.finish();
    runSpan.end();
    // An ingest still reading (Ctrl-C, an error) stops first: its batch ends failed, not half-read.
    await service?.drain(0).catch(() => undefined);
    // Consumers flush their spans on SIGTERM; then this process flushes its own.
    await pool?.stop();
    await telemetry.shutdown();
    await redis?.quit().catch(() => undefined);
    await localRedis?.stop();
    interrupts.dispose();
    logger.flush();
  }
}
