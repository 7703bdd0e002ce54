/**
 * Ingest: plan the dataset into splits that consumers read themselves (`split-ingest.ts`),
 * or, when it cannot be read in ranges (compressed, a server without ranges), stream it:
 * split it into chunks carrying their records and publish them to the queue in bulk. Each
 * bulk is awaited before more of the dataset is read, so memory stays flat however large
 * the dataset (backpressure from Redis all the way to the socket or file).
 */
import type { Logger } from 'pino';
import type { BatchCloser } from '../shared/batch/batch-closer.js';
import type { BatchStore } from '../shared/batch/batch-store.js';
import type { ChunkQueue } from '../shared/events/chunk-queue.js';
import type { SplitWindow } from '../shared/batch/split-window.js';
import type { Config } from '../shared/config/config.js';
import { DEFAULT_SCHEMA } from '../shared/formats/record-format.js';
import { formatNamed } from '../shared/formats/registry.js';
import { DatasetError } from '../shared/errors.js';
import { ATTR, inSpan } from '../shared/observability/tracing.js';
import type { BatchRequest } from '../shared/types.js';
import { ChunkPublisher } from './chunk-publisher.js';
import { Chunker } from './chunker.js';
import { ingestSplits } from './split-ingest.js';
import { FetchDeadline } from '../shared/io/sources/fetch-deadline.js';
import { splitRecords } from '../shared/formats/record-splitter.js';
import { openDataset } from '../shared/io/sources/open-dataset.js';
import type { OpenDatasetOptions } from '../shared/io/sources/open-dataset.js';

/** Upper bound of one chunk's payload, whatever its record count. */
const MAX_CHUNK_CHARS = 4 * 1024 * 1024;
/** A dataset server that sends nothing for this long is given up on. */
const IDLE_TIMEOUT_MS = 60_000;

export interface IngestDeps {
  queue: ChunkQueue;
  /** Where split plans are stored and their first window queued. */
  splitWindow: SplitWindow;
  store: BatchStore;
  closer: BatchCloser;
  config: Config;
  logger: Logger;
}

export interface IngestResult {
  chunks: number;
  records: number;
}

const tooManyRecords = (limit: number): DatasetError =>
  new DatasetError('DATASET_TOO_MANY_RECORDS', `dataset has more than ${limit} records (MAX_RECORDS_PER_BATCH)`);

/** How a resumed ingest checks it reads the same dataset (see `ingest-lease.ts`). */
export type DatasetVersionCheck = Pick<OpenDatasetOptions, 'expectedVersion' | 'onVersion'>;

export async function ingest(
  deps: IngestDeps,
  batchId: string,
  request: BatchRequest,
  signal: AbortSignal,
  versionCheck: DatasetVersionCheck = {},
): Promise<IngestResult> {
  const { config } = deps;
  const planned = !config.ingestSplits
    ? undefined
    : await inSpan('batchinfer.dataset.plan', { attributes: { [ATTR.batchId]: batchId } }, async (span) => {
        // Planning reads only the dataset's start, within the same deadline as a whole read.
        const deadline = new FetchDeadline(config.datasetFetchTimeoutSeconds * 1000, signal);
        const options = {
          signal: deadline.signal,
          idleTimeoutMs: IDLE_TIMEOUT_MS,
          allowPrivateNetworks: config.datasetAllowPrivateNetworks,
          allowedCidrs: config.datasetAllowedCidrs,
          retries: config.datasetRetries,
        };
        try {
          const result = await ingestSplits(deps, batchId, request, options, versionCheck, deps.logger.child({ batch_id: batchId }));
          if (result) span.setAttributes({ [ATTR.chunkCount]: result.chunks, [ATTR.recordCount]: result.records });
          return result;
        } catch (err) {
          throw deadline.explain(err);
        } finally {
          deadline.clear();
        }
      });
  if (planned) return planned;
  // Connecting, the SSRF checks and the response headers; the body is streamed below.
  const bytes = await inSpan('batchinfer.dataset.open', { attributes: { [ATTR.batchId]: batchId } }, () =>
    openDataset(new URL(request.datasetUrl), {
      signal,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      allowPrivateNetworks: config.datasetAllowPrivateNetworks,
      allowedCidrs: config.datasetAllowedCidrs,
      allowedSchemes: config.datasetAllowedSchemes,
      maxBytes: config.maxDatasetBytes,
      fetchTimeoutMs: config.datasetFetchTimeoutSeconds * 1000,
      retries: config.datasetRetries,
      ...versionCheck,
    }),
  );
  // Reading, decompressing and splitting the dataset; the publishes it waits for are its
  // children, so the gaps between them are the time spent reading and parsing.
  return inSpan(
    'batchinfer.dataset.read',
    { attributes: { [ATTR.batchId]: batchId, [ATTR.datasetFormat]: request.format } },
    async (span) => {
      // A resumed ingest reads the same version, so the same chunks: those done are not run again.
      const accounted = versionCheck.expectedVersion !== undefined ? await deps.store.accountedChunks(batchId) : new Set<number>();
      const publisher = new ChunkPublisher(deps, batchId, accounted, { chunks: config.ingestWindowChunks, signal });
      const result = await readAndPublish(deps, batchId, request, bytes, publisher);
      span.setAttributes({ [ATTR.chunkCount]: result.chunks, [ATTR.recordCount]: result.records });
      return result;
    },
  );
}

async function readAndPublish(
  deps: IngestDeps,
  batchId: string,
  request: BatchRequest,
  bytes: Awaited<ReturnType<typeof openDataset>>,
  publisher: ChunkPublisher,
): Promise<IngestResult> {
  const { config } = deps;
  let chunker: Chunker | undefined;
  const newChunker = (header?: string[]): Chunker =>
    new Chunker({
      batchId,
      chunkSize: request.chunkSize,
      maxChunkChars: MAX_CHUNK_CHARS,
      format: request.format,
      header,
      schema: request.schema,
      model: request.model,
      outputUrl: request.outputUrl,
    });
  const format = formatNamed(request.format);
  const schema = { ...DEFAULT_SCHEMA, ...request.schema };
  // A format with a header (CSV) starts its chunker once the header is read and checked.
  if (!format.parseHeader) chunker = newChunker();

  for await (const batch of splitRecords(bytes, { format: request.format, maxRecordChars: config.maxLineBytes })) {
    for (const record of batch) {
      if (!chunker) {
        if (record.text.trim() === '' && !record.rejected) continue;
        if (record.rejected) throw new DatasetError('DATASET_BAD_HEADER', 'header line is too long');
        const header = format.parseHeader?.(record.text, schema);
        // Stored before any chunk is queued: consumers read it with the batch's other fields.
        if (header) await deps.store.setHeader(batchId, header);
        chunker = newChunker(header);
        continue;
      }
      const full = chunker.add(record);
      if (chunker.recordCount > config.maxRecordsPerBatch) throw tooManyRecords(config.maxRecordsPerBatch);
      if (full) await publisher.add(full, chunker.flushedRecords);
    }
  }
  if (!chunker) throw new DatasetError('DATASET_EMPTY', `${format.name} dataset has no header`);
  const last = chunker.flush();
  if (last) await publisher.add(last, chunker.flushedRecords);
  await publisher.flush();
  return { chunks: chunker.chunkCount, records: chunker.recordCount };
}
