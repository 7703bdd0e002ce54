/**
 * `batchinfer exporter`: the one always-on place where queue health and cost are published.
 * Consumers scale to zero and cannot be scraped, so they write counters to Redis and this
 * small service reads them: `/metrics` for Prometheus (and through it KEDA, Grafana and
 * alerts), `/api/v1/overview` and a built-in page at `/` for people without Grafana, and
 * `/healthz`, `/readyz`. It holds no state of its own beyond the page's recent history, so
 * restarting it loses nothing: every counter lives in Redis.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import { BatchStore } from '../shared/batch/batch-store.js';
import type { Config } from '../shared/config/config.js';
import { answerHealth, closeServer, listen, sendJson } from '../shared/http/health-server.js';
import { createRedis, redisEndpoint } from '../shared/redis.js';
import { AccountingReader } from './accounting-reader.js';
import { DashboardPage, PAGE_CONTENT_SECURITY_POLICY, PAGE_PATHS } from './dashboard-page.js';
import { ExporterMetrics } from './exporter-metrics.js';
import type { MetricSettings } from './exporter-metrics.js';
import { History, sampleOf } from './history.js';
import { buildOverview } from './overview.js';
import { QueueReader } from './queue-reader.js';
import { SnapshotSource } from './snapshot.js';

/** Batches in progress listed on the page (oldest first). */
const ACTIVE_BATCHES_SHOWN = 20;

export interface ExporterService {
  port: number;
  drain(): Promise<void>;
}

export async function startExporter(config: Config, logger: Logger): Promise<ExporterService> {
  if (!config.redisUrl) throw new Error('REDIS_URL is required for the exporter');
  // Request-path connection: a scrape while Redis is down fails at once instead of queueing.
  const redis = createRedis(redisEndpoint(config), 'request');
  let redisErrors = 0;
  const onRedisError = (err: Error): void => {
    if (redisErrors++ === 0) logger.warn({ err }, 'Redis connection error (scrapes answer 503 until it is back)');
  };
  redis.on('error', onRedisError);
  redis.on('ready', () => (redisErrors = 0));
  const queue = new QueueReader(redis, config.queuePrefix, onRedisError);
  const snapshots = new SnapshotSource(
    queue,
    new AccountingReader(redis, config.queuePrefix, config.batchTtlSeconds, config.metricLabelValuesMax),
  );
  const store = new BatchStore(redis, config.queuePrefix, config.batchTtlSeconds);
  const history = new History(config.exporterHistorySeconds * 1000);
  const settings: MetricSettings & { sampleSeconds: number } = {
    teamBudgetsUsd: config.teamBudgetsUsd,
    scheduleMaxInterval: config.scheduleMaxInterval,
    sampleSeconds: config.exporterSampleSeconds,
  };

  let sampleFailures = 0;
  const sample = async (): Promise<void> => {
    try {
      history.add(sampleOf(await snapshots.get()));
      sampleFailures = 0;
    } catch (err) {
      // Log the first failure of a run of them, not one line every few seconds.
      if (sampleFailures++ === 0) logger.warn({ err }, 'could not sample the queue for the page');
    }
  };
  const sampler = setInterval(() => void sample(), config.exporterSampleSeconds * 1000);

  const metrics = new ExporterMetrics(snapshots, settings);
  const page = new DashboardPage();

  /** A route, and what its failure is called and answered with. */
  interface Route {
    what: string;
    failure: { status: number; code: string; message: string };
    serve(res: http.ServerResponse): Promise<void>;
  }
  const redisDown = { status: 503, code: 'REDIS_UNAVAILABLE', message: 'Redis is not answering' };
  const routes = new Map<string, Route>([
    [
      '/metrics',
      {
        what: 'scrape',
        failure: redisDown,
        async serve(res) {
          const text = await metrics.render();
          res.writeHead(200, {
            'content-type': metrics.contentType,
            'content-length': Buffer.byteLength(text),
            'cache-control': 'no-store',
          });
          res.end(text);
        },
      },
    ],
    [
      '/api/v1/overview',
      {
        what: 'overview',
        failure: redisDown,
        async serve(res) {
          const [snapshot, active] = await Promise.all([snapshots.get(), store.listActive(ACTIVE_BATCHES_SHOWN)]);
          sendJson(res, 200, buildOverview(snapshot, active, history, settings), { 'cache-control': 'no-store' });
        },
      },
    ],
    ...PAGE_PATHS.map((path): [string, Route] => [
      path,
      {
        what: 'page',
        failure: { status: 500, code: 'PAGE_UNAVAILABLE', message: 'the page files are missing from this build' },
        async serve(res) {
          const file = await page.file(path);
          if (!file) throw new Error(`no page file for ${path}`);
          res.writeHead(200, {
            'content-type': file.contentType,
            'content-length': file.body.length,
            'cache-control': 'no-cache',
            'x-content-type-options': 'nosniff',
            'content-security-policy': PAGE_CONTENT_SECURITY_POLICY,
          });
          res.end(file.body);
        },
      },
    ]),
  ]);

  let draining = false;
  const server = http.createServer((req, res) => {
    if (answerHealth(req, res, () => !draining && redis.status === 'ready')) return;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes.get(path);
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      sendJson(
        res,
        route ? 405 : 404,
        { error: { code: route ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND', message: `no route ${req.method} ${path}` } },
        route ? { allow: 'GET, HEAD' } : {},
      );
      req.resume();
      return;
    }
    route.serve(res).catch((err: unknown) => {
      logger.error({ err }, `${route.what} failed`);
      const { status, code, message } = route.failure;
      if (!res.headersSent) sendJson(res, status, { error: { code, message: `${route.what} failed: ${message}` } });
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const port = await listen(server, config.port);
  if (redis.status === 'ready') void sample();
  else redis.once('ready', () => void sample());
  logger.info({ port, prefix: config.queuePrefix, sample_seconds: config.exporterSampleSeconds }, 'exporter ready');

  return {
    port,
    async drain() {
      draining = true;
      clearInterval(sampler);
      await closeServer(server);
      await queue.close();
      await redis.quit().catch(() => undefined);
    },
  };
}
