/**
 * The split path of ingest: stat the dataset (one object, or every object of a folder),
 * plan each into splits, store the plan and queue its first window (`split-window.ts`). No
 * record travels through Redis, and only a window of splits is queued at a time. Returns
 * undefined when the dataset must be streamed instead (see `split-planner.ts`).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { DatasetError } from '../shared/errors.js';
import type { DatasetSource, OpenOptions, SourceEntry } from '../shared/io/sources/dataset-source.js';
import { sourceFor } from '../shared/io/sources/registry.js';
import { redactUrl } from '../shared/observability/redact.js';
import type { BatchRequest } from '../shared/types.js';
import type { DatasetVersionCheck, IngestDeps, IngestResult } from './ingest.js';
import { planObject, plannedObject } from './split-planner.js';
import type { SplitPlan } from './split-planner.js';

/** One input object: where, its size and version, and whether it can be read in ranges. */
interface InputObject extends SourceEntry {
  rangeable: boolean;
}

/** The objects a dataset URL names: itself, or a folder's objects (which `list` gives whole, size and version). */
export async function inputObjects(source: DatasetSource, url: URL, options: OpenOptions): Promise<InputObject[]> {
  // A URL that names no folder, or that lists nothing (an object's key), is one object.
  const listed = source.list ? await source.list(url, options).catch(() => undefined) : undefined;
  if (listed !== undefined) {
    if (listed.length === 0) throw new DatasetError('DATASET_NOT_FOUND', 'the dataset folder holds no non-empty file');
    return listed.map((entry) => ({ ...entry, rangeable: true }));
  }
  const stat = await source.stat(url, options);
  return [{ url: url.toString(), size: stat.size ?? -1, version: stat.version, rangeable: stat.rangeable }];
}

/** One version for the whole input: the object's own, or a digest of every object's URL, size and version. */
function inputVersion(objects: readonly InputObject[]): string | undefined {
  if (objects.length === 1) return objects[0]?.version;
  if (objects.some((o) => o.version === undefined)) return undefined;
  const digest = createHash('sha256');
  for (const o of objects) digest.update(`${o.url}\n${o.size}\n${o.version ?? ''}\n`);
  return `objects:${objects.length}:sha256:${digest.digest('hex')}`;
}

function changed(request: BatchRequest, expected: string, now: string | undefined): DatasetError {
  return new DatasetError(
    'DATASET_CHANGED',
    `dataset ${redactUrl(request.datasetUrl)} is not the version this batch began reading (${expected}, now ${now ?? 'unknown'})`,
  );
}

export async function ingestSplits(
  deps: IngestDeps,
  batchId: string,
  request: BatchRequest,
  options: OpenOptions,
  versionCheck: DatasetVersionCheck,
  log: Logger,
): Promise<IngestResult | undefined> {
  const { config } = deps;
  const url = new URL(request.datasetUrl);
  const source = sourceFor(url, config.datasetAllowedSchemes);
  const objects = await inputObjects(source, url, options);
  const total = objects.reduce((sum, o) => sum + Math.max(0, o.size), 0);
  if (total > config.maxDatasetBytes) throw new DatasetError('DATASET_TOO_LARGE', `dataset exceeds ${config.maxDatasetBytes} bytes`);
  const plans: SplitPlan[] = [];
  for (const [fileIndex, object] of objects.entries()) {
    const plan = await planObject({
      source,
      url: new URL(object.url),
      stat: { size: object.size < 0 ? undefined : object.size, version: object.version, rangeable: object.rangeable },
      format: request.format,
      schema: request.schema,
      chunkSize: request.chunkSize,
      maxLineBytes: config.maxLineBytes,
      fileIndex,
      options,
    });
    if (plan.kind === 'stream') {
      if (objects.length > 1) {
        throw new DatasetError(
          'DATASET_NOT_SPLITTABLE',
          `${redactUrl(object.url)} cannot be read in ranges (${plan.reason}); a folder's objects must all be`,
        );
      }
      log.info({ reason: plan.reason }, 'dataset streamed (not split)');
      return undefined;
    }
    plans.push(plan);
  }
  const version = inputVersion(objects);
  if (versionCheck.expectedVersion !== undefined && versionCheck.expectedVersion !== version) {
    throw changed(request, versionCheck.expectedVersion, version);
  }
  await versionCheck.onVersion?.(version);
  const splits = plans.reduce((sum, plan) => sum + plan.count, 0);
  const records = plans.reduce((sum, plan) => sum + plan.estimatedRecords, 0);
  // Splits are never counted whole before they run: the limit holds the estimate (exact
  // when each object fits its 256 KiB sample), so a batch far past it is refused here.
  if (records > config.maxRecordsPerBatch) {
    throw new DatasetError(
      'DATASET_TOO_MANY_RECORDS',
      `dataset has about ${records} records, estimated from its first bytes, more than ${config.maxRecordsPerBatch} (MAX_RECORDS_PER_BATCH)`,
    );
  }
  // The plan is stored and its first window queued; consumers queue the rest as they go, so
  // Redis never holds every split and this ingest ends here, whatever the dataset's size. A
  // resumed ingest stores the same plan and queues nothing twice (the cursor stays).
  const plan = await deps.splitWindow.store({
    batchId,
    format: request.format,
    model: request.model,
    outputUrl: request.outputUrl,
    ...(request.schema ? { schema: request.schema } : {}),
    objects: plans.map(plannedObject),
    total: splits,
    window: config.ingestWindowSplits,
    attempts: config.chunkAttempts,
    backoffMs: config.chunkBackoffMs,
    recordsPerSplit: splits > 0 ? records / splits : 0,
  });
  options.signal.throwIfAborted();
  const queued = await deps.splitWindow.fill(plan, plan.window);
  // `chunks.enqueued` of a split batch counts the splits planned (the window moves on without the producer).
  await deps.store.setIngestProgress(batchId, splits, records);
  log.info({ objects: objects.length, splits, queued, bytes: total }, 'dataset planned into splits');
  return { chunks: splits, records };
}
