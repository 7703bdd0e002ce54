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
import { createRedis } from '../shared/redis.js';
import { AccountingReader } from './accounting-reader.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { History, sampleOf } from './history.js';
import { renderMetrics } from './metrics-renderer.js';
import type { RenderSettings } from './metrics-renderer.js';
import { buildOverview } from './overview.js';
import { CONTENT_TYPE } from './prometheus-text.js';
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
  const redis = createRedis(config.redisUrl, 'request');
  let redisErrors = 0;
  const onRedisError = (err: Error): void => {
    if (redisErrors++ === 0) logger.warn({ err }, 'Redis connection error (scrapes answer 503 until it is back)');
  };
  redis.on('error', onRedisError);
  redis.on('ready', () => (redisErrors = 0));
  const queue = new QueueReader(redis, config.queuePrefix, onRedisError);
  const snapshots = new SnapshotSource(queue, new AccountingReader(redis, config.queuePrefix, config.batchTtlSeconds));
  const store = new BatchStore(redis, config.queuePrefix, config.batchTtlSeconds);
  const history = new History(config.exporterHistorySeconds * 1000);
  const settings: RenderSettings & { sampleSeconds: number } = {
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

  const fail = (res: http.ServerResponse, err: unknown, what: string): void => {
    logger.error({ err }, `${what} failed`);
    if (!res.headersSent) sendJson(res, 503, { error: { code: 'REDIS_UNAVAILABLE', message: `${what} failed: Redis is not answering` } });
  };

  const routes: Record<string, (res: http.ServerResponse) => Promise<void>> = {
    '/metrics': async (res) => {
      const text = renderMetrics(await snapshots.get(), settings);
      res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(text);
    },
    '/api/v1/overview': async (res) => {
      const [snapshot, active] = await Promise.all([snapshots.get(), store.listActive(ACTIVE_BATCHES_SHOWN)]);
      sendJson(res, 200, buildOverview(snapshot, active, history, settings), { 'cache-control': 'no-store' });
    },
    '/': async (res) => {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(DASHBOARD_HTML),
        // The page loads nothing from elsewhere; say so to the browser too.
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
      });
      res.end(DASHBOARD_HTML);
      return Promise.resolve();
    },
  };

  let draining = false;
  const server = http.createServer((req, res) => {
    if (answerHealth(req, res, () => !draining && redis.status === 'ready')) return;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes[path];
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      sendJson(res, route ? 405 : 404, {
        error: { code: route ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND', message: `no route ${req.method} ${path}` },
      });
      req.resume();
      return;
    }
    route(res).catch((err: unknown) => fail(res, err, path === '/metrics' ? 'scrape' : 'overview'));
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
