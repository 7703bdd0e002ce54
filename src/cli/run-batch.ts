/**
 * The batch half of `batchinfer run`, loaded while the consumers start (its modules, the
 * producer's ingest with BullMQ and the OTel SDK, take ~200 ms to load on Node 20): ingest
 * in this process (the producer's code, without HTTP), follow the batch to its end with
 * progress, and print its summary.
 */
import path from 'node:path';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
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
import type { Config } from '../shared/config/config.js';
import { RedisUnavailableError } from '../shared/errors.js';
import { createRedis, redisEndpoint, waitForRedis } from '../shared/redis.js';
import { MANIFEST_NAME } from '../shared/io/sinks/output-layout.js';
import { openBatchSink } from '../shared/io/sinks/registry.js';
import { startTelemetry } from '../shared/observability/telemetry.js';
import { ATTR, tracer } from '../shared/observability/tracing.js';
import { TERMINAL_STATUSES } from '../shared/types.js';
import type { BatchRequest, BatchView } from '../shared/types.js';
import { batchExitCode, describeBatch, outputLocation } from './batch-report.js';
import type { ConsumerPool } from './consumer-pool.js';
import { sleep } from './interrupts.js';
import type { Interrupts } from './interrupts.js';
import type { ProgressReporter } from './progress.js';
import { runChunkSize } from './run-chunk-size.js';

/** Status poll: cheap (two Redis reads), and the run ends at most this long after the batch. */
const POLL_MS = 50;

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

/** What the launch (run-command.ts) hands over. */
export interface RunBatchContext {
  /** The run's configuration: its Redis, private prefix, output and model root set. */
  config: Config;
  request: BatchRequest;
  /** `--chunk-size` was given (else `run` may size chunks itself). */
  chunkSizeGiven: boolean;
  consumers: number;
  json: boolean;
  logger: Logger;
  progress: ProgressReporter;
  interrupts: Interrupts;
  /** The consumers: started already with a private Redis, here once a `REDIS_URL` answers. */
  pool: ConsumerPool;
  /** When the run began (ms), for its wall time. */
  started: number;
}

export async function runBatch(ctx: RunBatchContext): Promise<number> {
  const { config, request, logger, progress, interrupts, pool } = ctx;
  const { queuePrefix: prefix, outputUrl } = config;
  // Consumers are started with this process's environment, so they trace when it does.
  const telemetry = await startTelemetry(config, { serviceName: 'batchinfer-run', logger });
  // The root of the run's trace: the ingest here and every consumer's chunk spans below it.
  const runSpan = tracer.startSpan('batchinfer run', {}, ROOT_CONTEXT);
  let redis: Redis | undefined;
  let service: BatchService | undefined;
  try {
    redis = createRedis(redisEndpoint(config, config.redisUrl), 'worker');
    await Promise.race([
      waitForRedis(redis).catch((err: Error) => {
        throw new RedisUnavailableError(
          `cannot connect to Redis at REDIS_URL: ${err.message} (is it running? unset REDIS_URL to use a private redis-server)`,
          { cause: err },
        );
      }),
      interrupts.rejected,
    ]);
    pool.start();
    const store = new BatchStore(redis, prefix, config.batchTtlSeconds);
    const queue = createChunkQueue(redis, { prefix, attempts: config.chunkAttempts, backoffMs: config.chunkBackoffMs });
    const closer = new BatchCloser(store, logger, outputUrl, new SplitLineLedger(redis, prefix, config.batchTtlSeconds));
    installCompletionEvents(closer, config, logger);
    // The lease keeps producers sharing this Redis and prefix from taking the ingest over.
    const leases = new IngestLeases(redis, prefix, { leaseMs: config.ingestLeaseMs, maxAttempts: config.ingestAttempts });
    const labelValues = new LabelValues(redis, prefix, config.metricLabelValuesMax);
    const splitWindow = new SplitWindow(redis, queue, prefix, config.batchTtlSeconds);
    service = new BatchService({ queue, splitWindow, store, closer, config, logger, leases, labelValues });

    // Sized while the consumers start (they take longer): see run-chunk-size.ts.
    if (!ctx.chunkSizeGiven && !config.explicitlySet.has('CHUNK_SIZE') && config.ingestSplits) {
      const sized = await runChunkSize(request, ctx.consumers * config.consumerConcurrency, config);
      if (sized !== undefined) request.chunkSize = sized;
    }
    logger.info({ chunk_size: request.chunkSize, consumers: ctx.consumers }, 'chunk size chosen');
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
    const wallSeconds = (Date.now() - ctx.started) / 1000;
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
    if (ctx.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      const lines = describeBatch(
        { ...view, output: { ...view.output, url: sink.url } },
        { wallSeconds, avgPrediction: manifest?.avg_prediction ?? null, cpuNote: cpuNote(config.cpuLimitCores) },
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return batchExitCode(view);
  } finally {
    runSpan.end();
    // An ingest still reading (Ctrl-C, an error) stops first: its batch ends failed, not half-read.
    await service?.drain(0).catch(() => undefined);
    // Consumers flush their spans on SIGTERM; then this process flushes its own.
    await pool.stop();
    await telemetry.shutdown();
    await redis?.quit().catch(() => undefined);
  }
}
