/**
 * `batchinfer run <dataset>`: the whole pipeline on one machine. Checks the dataset, the
 * output and the request first (run-preflight.ts), uses `REDIS_URL` or starts a private
 * redis-server, and runs N consumer processes (consumer-pool.ts); the batch itself (ingest,
 * progress, summary) is run-batch.ts, whose modules load while the consumers start. Whatever ends it (the batch, an error, Ctrl-C), the consumers, the private Redis
 * and its folder go.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseBatchRequest } from '../producer/batch-request.js';
import { loadConfig } from '../shared/config/config.js';
import type { Config } from '../shared/config/config.js';
import { createLogger, prettyFormatter } from '../shared/observability/logger.js';
import type { LineFormatter } from '../shared/observability/logger.js';
import { normaliseOutputUrl } from '../shared/io/sinks/registry.js';
import { positiveInt } from './args.js';
import { booleanFlag, listFlag, onePositional, stringFlag } from './command-spec.js';
import type { ParsedCommand } from './command-spec.js';
import { RUN_SPEC } from './command-specs.js';
import { ConsumerPool } from './consumer-pool.js';
import { watchInterrupts } from './interrupts.js';
import { parseLabels } from './labels.js';
import { startLocalRedis } from './local-redis.js';
import type { LocalRedis } from './local-redis.js';
import { ProgressReporter } from './progress.js';
import { checkLocalDataset, checkOutput, datasetUrl } from './run-preflight.js';
import { checkCsvColumns, readSchemaFlags, schemaFlagValues } from './schema-flags.js';
import type { SchemaFlags } from './schema-flags.js';
import { removeStaleRedisDirs } from './stale-redis-dirs.js';

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

export async function runCommand(parsed: ParsedCommand): Promise<number> {
  const started = Date.now();
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
  const modelRoot = options.schema.modelRoot ?? config.modelRoot;
  const request = parseBatchRequest(
    {
      datasetUrl: dataset,
      ...(options.model ? { model: options.model } : {}),
      ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
      ...(options.format ? { format: options.format } : {}),
      labels: options.labels,
      ...options.schema.request,
    },
    { config: { ...config, outputUrl, modelRoot } },
  );
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
    const consumers = new ConsumerPool(
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
    pool = consumers;
    // A private Redis is up: the consumers start now, and load their modules while this
    // process loads the batch half's (loaded here, after the spawns: compiling it holds this
    // process's event loop). A REDIS_URL is checked first (run-batch.ts starts them once it
    // answers), so that an unreachable one gives one line, not the consumers' complaints.
    if (localRedis) consumers.start();
    const { runBatch } = await import('./run-batch.js');
    return await runBatch({
      config: { ...config, redisUrl, queuePrefix: prefix, outputUrl, modelRoot },
      request,
      chunkSizeGiven: options.chunkSize !== undefined,
      consumers: options.consumers,
      json: options.json,
      logger,
      progress,
      interrupts,
      pool: consumers,
      started,
    });
  } finally {
    progress.finish();
    await pool?.stop();
    await localRedis?.stop();
    interrupts.dispose();
    logger.flush();
  }
}
