/**
 * `batchinfer producer`: the HTTP API that accepts batches and ingests them into the chunk
 * queue. Scales to zero on Knative's KPA; drains in-flight ingests on SIGTERM.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import { BatchCloser } from '../shared/batch/batch-closer.js';
import { BatchStore } from '../shared/batch/batch-store.js';
import { SplitLineLedger } from '../shared/batch/split-lines.js';
import { SplitWindow } from '../shared/batch/split-window.js';
import { installCompletionEvents } from '../shared/events/completion-hook.js';
import { createChunkQueue } from '../shared/events/chunk-queue.js';
import type { Config } from '../shared/config/config.js';
import { closeServer, listen } from '../shared/http/health-server.js';
import { answerClientError } from './http-client-error.js';
import { createRedis, redisEndpoint } from '../shared/redis.js';
import { batchControlRoutes } from './batch-control-routes.js';
import { BatchService } from './batch-service.js';
import { createApiHandler } from './http-api.js';
import { IngestLeases } from './ingest-lease.js';
import { LabelValues } from '../shared/batch/label-values.js';
import { IngestRecovery } from './ingest-recovery.js';

export interface ProducerService {
  port: number;
  drain(): Promise<void>;
}

export async function startProducer(config: Config, logger: Logger): Promise<ProducerService> {
  if (!config.redisUrl) throw new Error('REDIS_URL is required for the producer');
  // Ingest must ride out a Redis restart, so its connection queues and retries.
  const redis = createRedis(redisEndpoint(config), 'worker');
  const store = new BatchStore(redis, config.queuePrefix, config.batchTtlSeconds);
  const queue = createChunkQueue(redis, { prefix: config.queuePrefix, attempts: config.chunkAttempts, backoffMs: config.chunkBackoffMs });
  const closer = new BatchCloser(store, logger, config.outputUrl, new SplitLineLedger(redis, config.queuePrefix, config.batchTtlSeconds));
  installCompletionEvents(closer, config, logger);
  const leases = new IngestLeases(redis, config.queuePrefix, {
    leaseMs: config.ingestLeaseMs,
    maxAttempts: config.ingestAttempts,
    onRenewError: (err) => logger.warn({ err }, 'could not renew an ingest lease'),
  });
  const labelValues = new LabelValues(redis, config.queuePrefix, config.metricLabelValuesMax);
  const splitWindow = new SplitWindow(redis, queue, config.queuePrefix, config.batchTtlSeconds);
  const service = new BatchService({ queue, splitWindow, store, closer, config, logger, leases, labelValues });
  // Resumes ingests whose producer died: now (a restarted producer) and every half lease.
  const recovery = new IngestRecovery({ store, closer, leases, service, logger });
  recovery.start();
  let draining = false;
  const handler = createApiHandler(
    { config, store, service, logger, ready: () => !draining && redis.status === 'ready' },
    batchControlRoutes({ store, closer, queue, service }),
  );
  // A request without Host reaches the handler, which refuses it with a JSON 400 (Node's own
  // refusal has no body), like every other refusal of the API.
  const server = http.createServer({ requireHostHeader: false }, handler);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.on('clientError', answerClientError);
  const port = await listen(server, config.port);
  logger.info({ port, prefix: config.queuePrefix }, 'producer ready');
  return {
    port,
    async drain() {
      draining = true;
      await recovery.stop();
      await leases.leave().catch(() => undefined);
      await closeServer(server);
      await service.drain(config.drainTimeoutSeconds * 1000);
      await queue.close();
      await redis.quit();
    },
  };
}
