/**
 * The chunk size `run` uses when neither `--chunk-size` nor `CHUNK_SIZE` sets one.
 *
 * A chunk costs a few ms of fixed work whatever its size: the queue, the accounting scripts
 * and the part's files (about 4 ms on the 2-core VM of BENCHMARKS.md). The services' default
 * of 1000 records keeps chunks small so that KEDA can spread a batch over many pods. `run`
 * has a fixed number of consumers, all on this machine, so small chunks only add that
 * fixed work: on a cheap model it was more than half of a 1M-record run.
 *
 * So `run` sizes splits from the dataset, as Spark sizes file splits from the bytes per
 * core. Each consumer slot (consumers × `CONSUMER_CONCURRENCY`) gets about
 * {@link SPLITS_PER_SLOT} splits: enough that a slow split does not hold up the end, and
 * progress still moves. Two limits apply:
 * - never fewer records than the default chunk size;
 * - never more than {@link MAX_AUTO_SPLIT_BYTES} of text, since a consumer holds a split's
 *   text and its output in memory.
 *
 * Only a dataset planned into splits is sized this way. A streamed one (gzip, no byte
 * ranges) keeps the default, because its chunks travel through Redis and its window holds
 * `INGEST_WINDOW_CHUNKS` of them.
 */
import { sourceFor } from '../shared/io/sources/registry.js';
import type { OpenOptions } from '../shared/io/sources/dataset-source.js';
import type { Config } from '../shared/config/config.js';
import type { BatchRequest } from '../shared/types.js';
import { MAX_CHUNK_SIZE } from '../producer/batch-request.js';
import { inputObjects } from '../producer/split-ingest.js';
import { planObject } from '../producer/split-planner.js';

/** Splits per consumer slot. */
export const SPLITS_PER_SLOT = 4;
/** Largest split `run` picks by itself: the streaming path's chunk limit too. */
export const MAX_AUTO_SPLIT_BYTES = 4 * 1024 * 1024;

type SizingConfig = Pick<
  Config,
  | 'chunkSize'
  | 'datasetAllowedSchemes'
  | 'datasetAllowPrivateNetworks'
  | 'datasetAllowedCidrs'
  | 'datasetFetchTimeoutSeconds'
  | 'maxLineBytes'
>;

/**
 * Records per chunk for `slots` consumer slots, from the dataset's size and an estimate of
 * its bytes per record (the planner's, from its first 256 KiB). Undefined when the dataset
 * will be streamed, or its size cannot be known; the default chunk size applies then.
 */
export async function runChunkSize(
  request: Pick<BatchRequest, 'datasetUrl' | 'format' | 'schema'>,
  slots: number,
  config: SizingConfig,
): Promise<number | undefined> {
  const url = new URL(request.datasetUrl);
  const source = sourceFor(url, config.datasetAllowedSchemes);
  const options: OpenOptions = {
    signal: AbortSignal.timeout(config.datasetFetchTimeoutSeconds * 1000),
    idleTimeoutMs: config.datasetFetchTimeoutSeconds * 1000,
    allowPrivateNetworks: config.datasetAllowPrivateNetworks,
    allowedCidrs: config.datasetAllowedCidrs,
  };
  const objects = await inputObjects(source, url, options);
  const first = objects[0];
  if (!first || first.size < 0) return undefined;
  const plan = await planObject({
    source,
    url: new URL(first.url),
    stat: { size: first.size, version: first.version, rangeable: first.rangeable },
    format: request.format,
    schema: request.schema,
    chunkSize: config.chunkSize,
    maxLineBytes: config.maxLineBytes,
    fileIndex: 0,
    options,
  });
  if (plan.kind === 'stream' || plan.estimatedRecords === 0) return undefined;
  const bytesPerRecord = (first.size - plan.dataStart) / plan.estimatedRecords;
  const totalBytes = objects.reduce((sum, o) => sum + Math.max(0, o.size), 0);
  const records = totalBytes / bytesPerRecord;
  const wanted = Math.ceil(records / (slots * SPLITS_PER_SLOT));
  const largest = Math.max(1, Math.floor(MAX_AUTO_SPLIT_BYTES / bytesPerRecord));
  return Math.min(MAX_CHUNK_SIZE, Math.max(config.chunkSize, Math.min(wanted, largest)));
}
