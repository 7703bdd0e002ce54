/** Variables of Redis, of the services themselves (HTTP, auth, logs, shutdown), and of chunk work and its recovery. */
import { ConfigError } from '../errors.js';
import { raw, readFileContents } from './readers.js';
import type { Env } from './readers.js';
import { flag, int, oneOf, optionalText, parsed, section, text } from './variable.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const SERVICES_AND_RUN = ['producer', 'consumer', 'exporter', 'run'] as const;

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

export const REDIS_VARIABLES = {
  redisUrl: parsed('REDIS_URL', {
    services: SERVICES_AND_RUN,
    doc: 'Where Redis is. Required by the services; `run` starts a private `redis-server` from PATH when it is unset. Never logged.',
    accepts: '`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS',
    shownDefault: 'unset',
    read: readRedisUrl,
  }),
  redisTlsCa: parsed('REDIS_TLS_CA_FILE', {
    services: SERVICES_AND_RUN,
    doc: "PEM file of the CA that signed the Redis server's certificate, for `rediss://` to a private CA. Read at start.",
    note: "The server's certificate is always verified: without this file, against the system's trusted CAs.",
    accepts: 'a file path',
    shownDefault: 'unset',
    read: (env) => readFileContents(env, 'REDIS_TLS_CA_FILE'),
  }),
  queuePrefix: text('QUEUE_PREFIX', {
    services: SERVICES_AND_RUN,
    default: '{batchinfer}',
    doc: 'Prefix of every Redis key; hash-tagged so that every key shares one Redis Cluster slot. `run` uses a private prefix unless this is set.',
  }),
  batchTtlSeconds: int('BATCH_TTL_SECONDS', {
    services: SERVICES_AND_RUN,
    default: 7 * 24 * 3600,
    min: 60,
    defaultHint: '7 days',
    doc: "How long a finished batch's state stays in Redis.",
  }),
} as const;

export const SERVICE_VARIABLES = {
  port: int('PORT', {
    services: ['producer', 'consumer', 'exporter'],
    default: 8080,
    min: 0,
    max: 65535,
    doc: 'HTTP port: the API (producer), health (consumer), metrics and page (exporter). Knative sets it.',
  }),
  apiToken: optionalText('API_TOKEN', {
    services: ['producer', 'client'],
    doc: 'When set, the producer API requires `Authorization: Bearer <token>`, and `submit` and `status` send it. Never logged.',
  }),
  cloudEventsRequireToken: flag('CLOUDEVENTS_REQUIRE_TOKEN', {
    services: ['producer'],
    default: true,
    doc: 'Whether `POST /` (CloudEvents) needs the bearer token too.',
    note: "Knative's PingSource adapter and Broker cannot send a token: a cluster that routes them to the producer sets this to `false` and keeps the producer cluster-local (as `knative/` does).",
  }),
  logLevel: oneOf('LOG_LEVEL', {
    services: SERVICES_AND_RUN,
    values: LOG_LEVELS,
    default: 'info',
    defaultHint: '`run`: `warn`',
    doc: 'Least severe log line written (JSON lines on stdout; `run` prints readable lines on a terminal).',
  }),
  drainTimeoutSeconds: int('DRAIN_TIMEOUT_SECONDS', {
    services: ['producer', 'consumer'],
    default: 20,
    min: 1,
    max: 3600,
    doc: 'On SIGTERM, how long active chunks (consumer) or ingests (producer) may finish before they are handed back or failed.',
    note:
      "The whole drain may take 10 s more, so keep `DRAIN_TIMEOUT_SECONDS + 10` below the pod's grace period. On Knative the grace period is " +
      "the revision's `timeoutSeconds`, of which the queue-proxy's drain takes the first 30 s before SIGTERM reaches the container.",
  }),
} as const;

const WORKERS = ['consumer', 'run'] as const;
const INGESTERS = ['producer', 'run'] as const;

export const CHUNK_VARIABLES = {
  chunkSize: int('CHUNK_SIZE', {
    services: INGESTERS,
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'Records per chunk when a request gives none.',
    note:
      'Each chunk costs a few ms of CPU across consumer, Redis and the file system (about 4.5 ms on the 2-core VM of BENCHMARKS.md): for cheap models use 5000 or more; ' +
      'smaller chunks retry faster and spread a small batch over more consumers. ' +
      '`run` with neither this nor `--chunk-size` picks about 4 splits per consumer slot instead (docs/cli.md).',
  }),
  consumerConcurrency: int('CONSUMER_CONCURRENCY', {
    services: WORKERS,
    default: 2,
    min: 1,
    max: 256,
    doc: 'Chunks one consumer process works on at once.',
  }),
  ingestSplits: flag('INGEST_SPLITS', {
    services: INGESTERS,
    default: true,
    doc: 'Plan datasets that can be read in byte ranges (files, s3 objects, http with ranges) into splits that consumers read themselves; false streams every dataset through Redis.',
    note: 'Streaming keeps each chunk exactly `chunkSize` lines; splits are about `chunkSize` records each (docs/splits.md).',
  }),
  ingestWindowChunks: int('INGEST_WINDOW_CHUNKS', {
    services: INGESTERS,
    default: 256,
    min: 1,
    max: 1_000_000,
    doc: 'Chunks of a streamed dataset (gzip, http without ranges) queued and not yet done, at most: ingest waits for consumers past it.',
    note:
      'Streamed chunks carry their records, so Redis holds about this many chunks of data per streamed batch, never the dataset. ' +
      'Split datasets have their own window, `INGEST_WINDOW_SPLITS`. ' +
      'Keep it above the number of chunks all consumers work on at once.',
  }),
  ingestWindowSplits: int('INGEST_WINDOW_SPLITS', {
    services: INGESTERS,
    default: 1024,
    min: 2,
    max: 1_000_000,
    doc: 'Splits of a split dataset queued ahead of the consumers: the producer queues this many, and each consumer queues the next ones as it takes splits up.',
    note:
      'A queued split costs Redis about 1.5 kB whatever its size, so Redis holds a window of the plan, never all of it, and the producer is free once it planned. ' +
      'Keep it above the number of chunks all consumers work on at once (KEDA scales on the splits waiting).',
  }),
  chunkAttempts: int('CHUNK_ATTEMPTS', {
    services: INGESTERS,
    default: 3,
    min: 1,
    max: 100,
    doc: 'Tries per chunk before it fails (set by the producer on each chunk it queues).',
  }),
  chunkBackoffMs: int('CHUNK_BACKOFF_MS', {
    services: INGESTERS,
    default: 1000,
    min: 0,
    max: 3_600_000,
    doc: "Delay before a failed chunk's second try; it doubles with every further try.",
  }),
  chunkLockDurationMs: int('CHUNK_LOCK_DURATION_MS', {
    services: WORKERS,
    default: 30_000,
    min: 500,
    max: 3_600_000,
    doc: "How long a consumer's claim on a chunk lasts unless renewed (it renews at half of it).",
    note:
      'A consumer killed mid-chunk (OOM, node loss) stops renewing, and its chunk is taken up again by another consumer after at most this ' +
      'plus `CHUNK_STALLED_INTERVAL_MS`. Shorter recovers faster; too short and a consumer whose event loop is busy longer than this loses ' +
      'chunks it is still working on (harmless, they are idempotent, but wasted).',
  }),
  chunkStalledIntervalMs: int('CHUNK_STALLED_INTERVAL_MS', {
    services: WORKERS,
    default: 15_000,
    min: 100,
    max: 3_600_000,
    doc: 'How often consumers look for chunks whose claim lapsed.',
  }),
  chunkMaxStalledCount: int('CHUNK_MAX_STALLED_COUNT', {
    services: WORKERS,
    default: 3,
    min: 0,
    max: 1000,
    doc: 'Times a chunk may lose its consumer before it fails, so a chunk that kills every consumer it lands on (e.g. by OOM) stops.',
  }),
  ingestLeaseMs: int('INGEST_LEASE_MS', {
    services: INGESTERS,
    default: 30_000,
    min: 500,
    max: 3_600_000,
    doc: "An ingesting producer's lease on its batch, renewed as it reads; a dead producer's ingest is resumed by a live one this long after.",
  }),
  ingestAttempts: int('INGEST_ATTEMPTS', {
    services: INGESTERS,
    default: 3,
    min: 1,
    max: 100,
    doc: 'Ingest starts per batch (the first and each resume) before the batch fails.',
  }),
} as const;

export const REDIS_SECTION = section(
  'Redis',
  'Redis is the control plane: the chunk queue, batch state and accounting. Password and TLS come from `REDIS_URL`.',
  REDIS_VARIABLES,
);

export const SERVICE_SECTION = section(
  'Services',
  'HTTP, authentication, logs and shutdown of the long-running commands.',
  SERVICE_VARIABLES,
);

export const CHUNK_SECTION = section(
  'Chunks and recovery',
  'How datasets are cut into chunks, how many run at once, and how a chunk or an ingest whose process died is taken up again.',
  CHUNK_VARIABLES,
);
