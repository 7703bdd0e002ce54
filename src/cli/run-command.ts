/**
 * `batchinfer run <dataset>`: the whole pipeline on one machine. Uses `REDIS_URL` or starts
 * a private redis-server, ingests in this process (the producer's code, without HTTP),
 * runs N consumer processes (the real `batchinfer consumer`), shows progress on a TTY, and
 * prints the batch summary. Exit 0 when the batch completed (record errors included).
 */
import { LabelValues } from '../shared/batch/label-values.js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { parseBatchRequest } from '../producer/batch-request.js';
import { BatchService } from '../producer/batch-service.js';
import { IngestLeases } from '../producer/ingest-lease.js';
import { BatchCloser } from '../shared/batch/batch-closer.js';
import type { Manifest } from '../shared/batch/batch-closer.js';
import { BatchStore } from '../shared/batch/batch-store.js';
import { installCompletionEvents } from '../shared/events/completion-hook.js';
import { createChunkQueue } from '../shared/events/chunk-queue.js';
import { loadConfig } from '../shared/config/config.js';
import type { Config } from '../shared/config/config.js';
import { createLogger, prettyFormatter } from '../shared/observability/logger.js';
import type { LineFormatter } from '../shared/observability/logger.js';
import { createRedis, redisEndpoint, waitForRedis } from '../shared/redis.js';
import { MANIFEST_NAME } from '../shared/io/sinks/output-layout.js';
import { normaliseOutputUrl, openBatchSink } from '../shared/io/sinks/registry.js';
import { startTelemetry } from '../shared/observability/telemetry.js';
import { ATTR, tracer } from '../shared/observability/tracing.js';
import { TERMINAL_STATUSES } from '../shared/types.js';
import type { BatchView } from '../shared/types.js';
import { parse, positiveInt, UsageError } from './args.js';
import { parseLabels } from './labels.js';
import { startLocalRedis } from './local-redis.js';
import { describeBatchError } from '../shared/batch/batch-error.js';
import type { LocalRedis } from './local-redis.js';
import { ProgressReporter } from './progress.js';

const USAGE =
  'usage: batchinfer run <dataset> [--model sum] [--output DIR] [--chunk-size N] [--consumers N] [--format jsonl|csv] [--label key=value]... [--json]';
/** Status poll: cheap (two Redis reads), and the run ends at most this long after the batch. */
const POLL_MS = 50;
const MAX_CONSUMER_RESTARTS = 5;

interface RunOptions {
  dataset: string;
  model?: string;
  output: string;
  chunkSize?: number;
  consumers: number;
  format?: string;
  labels: Record<string, string>;
  json: boolean;
}

function readOptions(argv: string[], config: Config): RunOptions {
  const { values, positionals } = parse(
    argv,
    {
      model: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'chunk-size': { type: 'string' },
      consumers: { type: 'string' },
      format: { type: 'string' },
      label: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (positionals.length !== 1 || !positionals[0]) throw new UsageError(`expected one dataset path or URL\n${USAGE}`);
  const options: RunOptions = {
    dataset: positionals[0],
    output: values.output ?? (config.explicitlySet.has('OUTPUT_URL') ? config.outputUrl : path.resolve('output')),
    // One consumer per core: the ingest in this process mostly waits on Redis and the disk,
    // so it shares a core well (see BENCHMARKS.md).
    consumers: positiveInt(values.consumers, '--consumers', USAGE) ?? os.availableParallelism(),
    labels: parseLabels(values.label ?? [], USAGE),
    json: values.json ?? false,
  };
  if (values.model !== undefined) options.model = values.model;
  if (values.format !== undefined) options.format = values.format;
  const chunkSize = positiveInt(values['chunk-size'], '--chunk-size', USAGE);
  if (chunkSize !== undefined) options.chunkSize = chunkSize;
  return options;
}

/** A plain path (or file: URL) becomes a file: URL; http(s) URLs pass through. */
function datasetUrl(dataset: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dataset) ? dataset : pathToFileURL(path.resolve(dataset)).toString();
}

/** Calls `onLine` with each whole line of a stream that arrives in arbitrary pieces. */
function lineSplitter(onLine: (line: string) => void): (text: string) => void {
  let rest = '';
  return (text) => {
    rest += text;
    let nl: number;
    while ((nl = rest.indexOf('\n')) !== -1) {
      onLine(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
  };
}

/** The consumer processes: the real service, restarted if one dies while the batch runs. */
class ConsumerPool {
  private readonly children = new Set<ChildProcess>();
  private restarts = 0;
  private stopping = false;

  constructor(
    private readonly count: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly onLog: (line: string) => void,
  ) {}

  start(): void {
    for (let i = 0; i < this.count; i++) this.spawnOne();
  }

  private spawnOne(): void {
    // The script this process was started as: the bundle in the image, dist/cli.js otherwise.
    const cli = process.argv[1] ?? fileURLToPath(new URL('../cli.js', import.meta.url));
    const child = spawn(process.execPath, [...process.execArgv, cli, 'consumer'], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.stdout?.setEncoding('utf8').on('data', lineSplitter(this.onLog));
    child.stderr?.setEncoding('utf8').on('data', lineSplitter(this.onLog));
    child.once('exit', (code, signal) => {
      this.children.delete(child);
      if (this.stopping) return;
      if (this.restarts >= MAX_CONSUMER_RESTARTS) {
        this.onLog(`consumer exited (code ${code}, signal ${signal}); restart limit reached\n`);
        return;
      }
      this.restarts++;
      this.onLog(`consumer exited (code ${code}, signal ${signal}); restarting\n`);
      this.spawnOne();
    });
  }

  get alive(): number {
    return this.children.size;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}

export interface RunSummary extends Omit<Partial<Manifest>, 'status' | 'output'> {
  id: string;
  status: BatchView['status'];
  output: string;
  manifest: string | null;
  records: BatchView['records'];
  chunks: BatchView['chunks'];
  wallSeconds: number;
  recordsPerSecond: number;
  error?: string;
}

function printHuman(summary: RunSummary): void {
  const lines = [
    `batch ${summary.id}: ${summary.status}`,
    `  records: ${summary.records.succeeded} predicted, ${summary.records.failed} errors (of ${summary.records.total ?? '?'})`,
    `  chunks:  ${summary.chunks.completed} completed, ${summary.chunks.failed} failed (of ${summary.chunks.total ?? '?'})`,
  ];
  if (summary.avg_prediction !== undefined) lines.push(`  avg prediction: ${summary.avg_prediction}`);
  if (summary.total_cost_usd !== undefined) {
    lines.push(`  cost: $${summary.total_cost_usd.toPrecision(4)} ($${(summary.cost_per_record_usd ?? 0).toExponential(3)} per record)`);
  }
  lines.push(`  time: ${summary.wallSeconds.toFixed(2)} s (${Math.round(summary.recordsPerSecond)} records/s)`);
  lines.push(`  output: ${summary.output}`);
  if (summary.error) lines.push(`  error: ${summary.error}`);
  process.stdout.write(lines.join('\n') + '\n');
}

export async function runCommand(argv: string[]): Promise<number> {
  // `run` reads local files; services do not unless configured to.
  const config = loadConfig(process.env, { DATASET_ALLOWED_SCHEMES: 'file,http,https,s3' });
  // A local run is quiet unless LOG_LEVEL asks for more; its consumers log alike.
  const logLevel = config.explicitlySet.has('LOG_LEVEL') ? config.logLevel : 'warn';
  const options = readOptions(argv, config);
  const outputUrl = normaliseOutputUrl(options.output);
  const progress = new ProgressReporter(process.stderr, !options.json || process.stderr.isTTY);
  // People read a terminal; anything else (a file, CI, `--json` piped) gets JSON lines.
  const formatLine: LineFormatter = process.stderr.isTTY ? await prettyFormatter(true) : (line) => line;
  const logger = createLogger({
    service: 'batchinfer-run',
    level: logLevel,
    // Through the progress reporter, so log lines never run into the progress bar.
    destination: { write: (line: string) => progress.log(formatLine(line.replace(/\n$/, ''))) },
  });
  // Consumers are started with this process's environment, so they trace when it does.
  const telemetry = await startTelemetry(config, { serviceName: 'batchinfer-run', logger });
  // The root of the run's trace: the ingest here and every consumer's chunk spans below it.
  const runSpan = tracer.startSpan('batchinfer run', {}, ROOT_CONTEXT);

  let localRedis: LocalRedis | undefined;
  let redisUrl = config.redisUrl;
  if (!redisUrl) {
    localRedis = await startLocalRedis();
    redisUrl = localRedis.url;
  }
  // A private prefix keeps a run's consumers off any other work sharing the Redis.
  const prefix = config.explicitlySet.has('QUEUE_PREFIX') ? config.queuePrefix : `{batchinfer-run-${randomBytes(4).toString('hex')}}`;
  const runConfig: Config = { ...config, redisUrl, queuePrefix: prefix, outputUrl };

  let redis: Redis | undefined;
  let pool: ConsumerPool | undefined;
  const started = Date.now();
  try {
    redis = createRedis(redisEndpoint(config, redisUrl), 'worker');
    await waitForRedis(redis).catch((err: Error) => {
      throw new UsageError(`cannot connect to REDIS_URL: ${err.message}`);
    });
    const request = parseBatchRequest(
      {
        datasetUrl: datasetUrl(options.dataset),
        ...(options.model ? { model: options.model } : {}),
        ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
        ...(options.format ? { format: options.format } : {}),
        labels: options.labels,
      },
      { config: runConfig },
    );
    const store = new BatchStore(redis, prefix, config.batchTtlSeconds);
    const queue = createChunkQueue(redis, { prefix, attempts: config.chunkAttempts, backoffMs: config.chunkBackoffMs });
    const closer = new BatchCloser(store, logger, outputUrl);
    installCompletionEvents(closer, runConfig, logger);
    // The lease keeps producers sharing this Redis and prefix from taking the ingest over.
    const leases = new IngestLeases(redis, prefix, { leaseMs: config.ingestLeaseMs, maxAttempts: config.ingestAttempts });
    const labelValues = new LabelValues(redis, prefix, config.metricLabelValuesMax);
    const service = new BatchService({ queue, store, closer, config: runConfig, logger, leases, labelValues });

    pool = new ConsumerPool(
      options.consumers,
      {
        ...process.env,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        OUTPUT_URL: outputUrl,
        MODEL_ROOT: config.modelRoot,
        PORT: '0',
        LOG_LEVEL: logLevel,
      },
      (line) => progress.log(formatLine(line)),
    );
    pool.start();
    const { id } = await service.submit(request, { traceContext: trace.setSpan(ROOT_CONTEXT, runSpan) });
    runSpan.setAttribute(ATTR.batchId, id);

    let view: BatchView | null = null;
    for (;;) {
      view = await store.get(id);
      if (!view) throw new Error(`batch ${id} disappeared from Redis`);
      progress.update(view);
      if (TERMINAL_STATUSES.includes(view.status)) break;
      if (pool.alive === 0 && view.status === 'running') throw new Error('all consumers exited; see the log above');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    progress.finish();
    await queue.close();

    const sink = openBatchSink(outputUrl, id, outputUrl);
    const manifestText = await sink.read(MANIFEST_NAME);
    const manifest = manifestText ? (JSON.parse(manifestText) as Manifest) : undefined;
    const wallSeconds = (Date.now() - started) / 1000;
    // A local folder as a path; object storage as its URL.
    const folder = sink.url.startsWith('file:') ? fileURLToPath(sink.url) : sink.url;
    const summary: RunSummary = {
      ...manifest,
      id,
      status: view.status,
      output: folder,
      manifest: manifest ? `${folder}${sink.url.startsWith('file:') ? path.sep : '/'}${MANIFEST_NAME}` : null,
      records: view.records,
      chunks: view.chunks,
      wallSeconds,
      recordsPerSecond: (view.records.succeeded + view.records.failed) / wallSeconds,
    };
    // The manifest's line names every failed chunk and the first one's cause; a halted batch has none.
    if (view.error) summary.error = manifest?.error ?? describeBatchError(view.error);
    runSpan.setAttribute(ATTR.batchStatus, view.status);
    if (options.json) process.stdout.write(JSON.stringify(summary) + '\n');
    else printHuman(summary);
    return view.status === 'completed' ? 0 : 1;
  } finally {
    progress.finish();
    runSpan.end();
    // Consumers flush their spans on SIGTERM; then this process flushes its own.
    await pool?.stop();
    await telemetry.shutdown();
    await redis?.quit().catch(() => undefined);
    await localRedis?.stop();
    logger.flush();
  }
}
