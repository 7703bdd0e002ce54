/**
 * `batchinfer consumer`: a BullMQ worker on the chunk queue plus a health server. It is
 * scaled 0..N by KEDA on queue depth and never receives HTTP traffic for its work.
 */
import os from 'node:os';
import { MetricsTime, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { BatchCloser } from '../shared/batch/batch-closer.js';
import { BatchStore } from '../shared/batch/batch-store.js';
import { SplitLineLedger } from '../shared/batch/split-lines.js';
import { SplitWindow } from '../shared/batch/split-window.js';
import { createChunkQueue } from '../shared/events/chunk-queue.js';
import { installCompletionEvents } from '../shared/events/completion-hook.js';
import type { ChunkEventJson } from '../shared/events/chunk-event.js';
import { readChunkEvent } from '../shared/events/chunk-event.js';
import type { Config } from '../shared/config/config.js';
import { startHealthServer } from '../shared/http/health-server.js';
import { CHUNK_QUEUE } from '../shared/batch/keys.js';
import { createRedis, redisEndpoint } from '../shared/redis.js';
import { ATTR, inSpan } from '../shared/observability/tracing.js';
import { modelContext } from '../shared/models/registry.js';
import { AttemptAccounting } from './attempt-accounting.js';
import { AttemptClock } from './attempt-clock.js';
import { BatchSinks } from './batch-sinks.js';
import { ChunkReader } from './chunk-reader.js';
import { ChunkFailedError, ChunkProcessor } from './chunk-processor.js';
import type { ChunkOutcome } from './chunk-processor.js';
import { ConsumerHeartbeat } from './consumer-heartbeat.js';
import { RecordPipeline } from './record-pipeline.js';
import { STALLED } from './failure-reason.js';
import { ResourceMeter } from './resource-meter.js';

export interface ConsumerService {
  port: number;
  /** Stops taking chunks, lets active ones finish (or hands them back after the drain timeout), closes. */
  drain(): Promise<void>;
}

/**
 * After a Redis error the worker waits this long before fetching again (BullMQ's default,
 * 15 s, would idle every consumer that long after a Redis restart).
 */
const RUN_RETRY_DELAY_MS = 1000;

export async function startConsumer(config: Config, logger: Logger): Promise<ConsumerService> {
  if (!config.redisUrl) throw new Error('REDIS_URL is required for the consumer');
  const storeRedis = createRedis(redisEndpoint(config), 'worker');
  const workerRedis = createRedis(redisEndpoint(config), 'worker');
  const store = new BatchStore(storeRedis, config.queuePrefix, config.batchTtlSeconds);
  // Consumers queue the next splits of a batch's window (split-window.ts); job options come from its plan.
  const windowQueue = createChunkQueue(storeRedis, { prefix: config.queuePrefix, attempts: config.chunkAttempts });
  const splitWindow = new SplitWindow(storeRedis, windowQueue, config.queuePrefix, config.batchTtlSeconds);
  const splitLines = new SplitLineLedger(storeRedis, config.queuePrefix, config.batchTtlSeconds);
  const closer = new BatchCloser(store, logger, config.outputUrl, splitLines);
  installCompletionEvents(closer, config, logger);
  const processor = new ChunkProcessor({
    store,
    logger,
    models: modelContext(config, config),
    sinks: new BatchSinks(config.outputUrl),
    reader: new ChunkReader({
      allowedSchemes: config.datasetAllowedSchemes,
      allowPrivateNetworks: config.datasetAllowPrivateNetworks,
      allowedCidrs: config.datasetAllowedCidrs,
      retries: config.datasetRetries,
      maxLineBytes: config.maxLineBytes,
    }),
    splitLines,
    splitWindow,
    pipeline: new RecordPipeline({ recordSampleRatio: config.telemetry.recordSampleRatio, modelBatchSize: config.modelBatchSize }),
    accounting: new AttemptAccounting({
      store,
      closer,
      rates: config,
      concurrency: config.consumerConcurrency,
      meter: new ResourceMeter(),
      clock: new AttemptClock(storeRedis),
    }),
  });
  const heartbeat = new ConsumerHeartbeat(storeRedis, config.queuePrefix, logger);

  const worker = new Worker<ChunkEventJson, ChunkOutcome, string>(
    CHUNK_QUEUE,
    (job, token, signal) => processor.process(job, token, signal),
    {
      connection: workerRedis,
      prefix: config.queuePrefix,
      concurrency: config.consumerConcurrency,
      // A killed consumer's chunk is taken up again within lockDuration + stalledInterval.
      lockDuration: config.chunkLockDurationMs,
      stalledInterval: config.chunkStalledIntervalMs,
      maxStalledCount: config.chunkMaxStalledCount,
      runRetryDelay: RUN_RETRY_DELAY_MS,
      // Recorded on each job as `processedBy`: which pod had a chunk when it stalled.
      name: `${os.hostname()}:${process.pid}`,
      // BullMQ's own per-minute completed/failed counts, which the exporter republishes
      // through Queue.exportPrometheusMetrics; an hour of points keeps its read small.
      metrics: { maxDataPoints: MetricsTime.ONE_HOUR },
      autorun: false,
    },
  );
  worker.on('error', (err) => logger.error({ err }, 'worker error'));
  worker.on('stalled', (jobId: string) => logger.warn({ job_id: jobId }, 'chunk stalled (its consumer died or hung): queued again'));
  worker.on('failed', (job: Job<ChunkEventJson> | undefined, err: Error) => {
    if (!job || err instanceof ChunkFailedError) return;
    // A chunk BullMQ failed without our processor finishing it (it stalled too often, e.g.
    // its consumers kept being OOM-killed): account it here so the batch still closes.
    void accountUnprocessedFailure(job, err);
  });

  async function accountUnprocessedFailure(job: Job<ChunkEventJson>, err: Error): Promise<void> {
    try {
      if ((await job.getState()) !== 'failed') return;
      const event = readChunkEvent(job.data);
      const { parentContext } = event;
      const data = await processor.chunkOf(event.data);
      if (!data) return;
      // A split that stalled before its processor queued what follows it does so here, or the
      // window could end with it and the batch never finish.
      if (data.split) await splitWindow.topUp(data.batchId, data.chunkIndex);
      const attributes = { [ATTR.batchId]: data.batchId, [ATTR.chunkIndex]: data.chunkIndex, [ATTR.chunkOutcome]: 'failed' };
      await inSpan(
        'batchinfer.chunk.fail',
        { attributes },
        () =>
          processor.recordFailure(data, err.message, logger.child({ batch_id: data.batchId, chunk_index: data.chunkIndex }), {
            reason: STALLED,
            message: err.message,
            // Every start counts (a stalled attempt never finished, so attemptsMade misses it).
            attempts: Math.max(job.attemptsStarted, job.attemptsMade),
          }),
        parentContext,
      );
    } catch (accountErr) {
      logger.error({ err: accountErr, job_id: job.id }, 'could not account a failed chunk');
    }
  }

  let draining = false;
  const health = await startHealthServer(config.port, () => !draining && workerRedis.status === 'ready');
  void worker.run().catch((err: unknown) => logger.error({ err }, 'worker stopped'));
  await worker.waitUntilReady();
  await heartbeat.start();
  logger.info({ port: health.port, concurrency: config.consumerConcurrency, prefix: config.queuePrefix }, 'consumer ready');

  return {
    port: health.port,
    async drain() {
      // Not ready any more, and no new chunk is taken (close stops the fetch loop at once).
      draining = true;
      // Active chunks get DRAIN_TIMEOUT_SECONDS to finish; past it their AbortSignal fires
      // and the processor moves each back to `wait` untouched (no attempt is used up), for
      // another consumer to take.
      const deadline = setTimeout(() => {
        logger.warn({ drain_timeout_s: config.drainTimeoutSeconds }, 'drain timeout: handing active chunks back to the queue');
        worker.cancelAllJobs('consumer shutting down');
      }, config.drainTimeoutSeconds * 1000);
      try {
        await worker.close();
      } finally {
        clearTimeout(deadline);
      }
      await heartbeat.stop();
      await health.close();
      await windowQueue.close();
      await Promise.all([storeRedis.quit(), workerRedis.quit()]);
    },
  };
}
