/** Variables of what a batch reads and writes: datasets and their security, the size and load limits, the output root (models: model-variables.ts). */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readCidrList, readUrl } from './readers.js';
import { flag, int, list, parsed, section } from './variable.js';

const INGESTERS = ['producer', 'run'] as const;
/** Who fetches by URL: datasets (producer, run) and models (consumers). */
const FETCHERS = ['producer', 'consumer', 'run'] as const;

export const DATASET_VARIABLES = {
  datasetAllowedSchemes: list('DATASET_ALLOWED_SCHEMES', {
    services: INGESTERS,
    default: ['http', 'https', 's3'],
    defaultHint: '`run`: `file,http,https,s3`',
    doc: 'Dataset URL schemes accepted.',
    note:
      '`s3` reads from the store the operator configured (`AWS_ENDPOINT_URL_S3`, or AWS) with the credentials of the process: a user ' +
      'picks a bucket and key, never a host. Take `s3` out where users must not read every bucket those credentials can read.',
  }),
  datasetAllowPrivateNetworks: flag('DATASET_ALLOW_PRIVATE_NETWORKS', {
    services: FETCHERS,
    default: false,
    doc: 'Allow datasets (and `onnx:https://…` models) on loopback, private, link-local and metadata addresses. Leave it off in production (SSRF).',
  }),
  datasetAllowedCidrs: parsed('DATASET_ALLOWED_CIDRS', {
    services: FETCHERS,
    doc: 'Addresses a dataset or model may be fetched from although they are private (an in-cluster object store, e.g. `10.20.0.0/16`).',
    note: 'Narrower than `DATASET_ALLOW_PRIVATE_NETWORKS`: every other private address stays refused, redirect hops included.',
    accepts: 'a comma-separated list of IP addresses and CIDR ranges',
    shownDefault: 'unset',
    read: (env) => readCidrList(env, 'DATASET_ALLOWED_CIDRS'),
  }),
  datasetRetries: int('DATASET_RETRIES', {
    services: INGESTERS,
    default: 5,
    min: 0,
    max: 100,
    doc: 'Retries of a failing dataset read (HTTP 5xx or 429, a refused or cut connection), with exponential backoff from 0.5 s.',
    note:
      'A cut stream resumes where it stopped (HTTP Range, guarded by ETag/Last-Modified so a changed file is never stitched together). ' +
      'The count restarts whenever a retry makes progress.',
  }),
} as const;

export const LIMIT_VARIABLES = {
  maxRequestBytes: int('MAX_REQUEST_BYTES', {
    services: ['producer'],
    default: 64 * 1024,
    min: 1024,
    doc: 'Largest accepted request body (`413 PAYLOAD_TOO_LARGE`).',
  }),
  maxConcurrentIngests: int('MAX_CONCURRENT_INGESTS', {
    services: ['producer'],
    default: 8,
    min: 1,
    max: 10_000,
    doc: 'Datasets one producer reads at once; past it, `POST /v1/batches` answers `429` with `Retry-After`.',
    note: 'Scheduled CloudEvent ticks are admitted all the same: a PingSource gives up on a tick after a few quick retries.',
  }),
  datasetFetchTimeoutSeconds: int('DATASET_FETCH_TIMEOUT_SECONDS', {
    services: INGESTERS,
    default: 4 * 3600,
    min: 1,
    defaultHint: '4 hours',
    doc: 'Longest time to read a whole dataset, whatever the pace; past it the batch fails with `DATASET_FETCH_TIMEOUT`.',
    note: 'A stalled stream fails sooner, after 60 s without data; this bound catches a trickle.',
  }),
  maxRecordsPerBatch: int('MAX_RECORDS_PER_BATCH', {
    services: INGESTERS,
    default: 100_000_000,
    min: 1,
    doc: 'A dataset with more records fails its batch with `DATASET_TOO_MANY_RECORDS`.',
    note: 'A split dataset is held to the record count estimated at planning (exact for objects of up to 256 KiB), a streamed one to its count as read.',
  }),
  maxLineBytes: int('MAX_LINE_BYTES', {
    services: INGESTERS,
    default: 1024 * 1024,
    min: 64,
    defaultHint: '1 MiB',
    doc: 'Longest record line, in characters; a longer one is a record error.',
  }),
  maxDatasetBytes: int('MAX_DATASET_BYTES', {
    services: INGESTERS,
    default: 50 * 1024 ** 3,
    min: 1,
    defaultHint: '50 GiB',
    doc: 'Largest dataset, after decompression (`DATASET_TOO_LARGE`; a gzip bomb stops here).',
  }),
} as const;

export const OUTPUT_VARIABLES = {
  outputUrl: parsed('OUTPUT_URL', {
    services: ['producer', 'consumer', 'run'],
    doc: "Output root: batches are written under it, and a request's `outputUrl` must lie inside it. `run --output` overrides.",
    note:
      'Consumers check every chunk against it (a chunk on the queue could have been written by anyone with access to Redis), so producer ' +
      'and consumers must share one `OUTPUT_URL`: in Kubernetes, `s3://bucket/prefix` (see [docs/storage.md](storage.md)) or a volume ' +
      'mounted at the same path in both.',
    accepts: 'a folder path, a `file://` URL or `s3://bucket/prefix`',
    shownDefault: '`file://<tmpdir>/batchinfer-output` (`run`: `./output`)',
    read: (env) => readUrl(env, 'OUTPUT_URL') ?? pathToFileURL(path.join(os.tmpdir(), 'batchinfer-output')).toString(),
  }),
} as const;

export const DATASET_SECTION = section(
  'Datasets and security',
  'Which dataset URLs are accepted and how their reads are retried. Private, loopback and link-local addresses are refused at ' +
    'submission and again at connect time, every redirect hop included, unless allowed here (see [Security](../README.md#security) in README.md).',
  DATASET_VARIABLES,
);

export const LIMIT_SECTION = section(
  'Limits',
  'Bounds on requests, datasets and records, and on the load one producer takes.',
  LIMIT_VARIABLES,
);

export const OUTPUT_SECTION = section(
  'Output',
  'Where parts, error files and manifests are written: `<output>/<batchId>/part-NNNNN.jsonl`, `errors-NNNNN.jsonl`, `manifest.json`.',
  OUTPUT_VARIABLES,
);
