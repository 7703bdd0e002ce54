/**
 * Ingest: stream the dataset, split it into chunks, and publish the chunks to the queue in
 * bulk. Each bulk is awaited before more of the dataset is read, so memory stays flat
 * however large the dataset (backpressure from Redis all the way to the socket or file).
 */
import { context, SpanKind } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { BatchCloser } from '../shared/batch/batch-closer.js';
import type { BatchStore } from '../shared/batch/batch-store.js';
import { buildChunkEvent } from '../shared/events/chunk-event.js';
import type { ChunkQueue } from '../shared/events/chunk-queue.js';
import { chunkJobId } from '../shared/events/chunk-queue.js';
import type { Config } from '../shared/config/config.js';
import { DEFAULT_SCHEMA } from '../shared/formats/record-format.js';
import { formatNamed } from '../shared/formats/registry.js';
import { DatasetError } from '../shared/errors.js';
import { CHUNK_QUEUE } from '../shared/batch/keys.js';
import { ATTR, inSpan, MESSAGING } from '../shared/observability/tracing.js';
import type { BatchRequest, ChunkData } from '../shared/types.js';
import { Chunker } from './chunker.js';
import { splitRecords } from '../shared/formats/record-splitter.js';
import { openDataset } from '../shared/io/sources/open-dataset.js';
import type { OpenDatasetOptions } from '../shared/io/sources/open-dataset.js';

/** Chunks published per Redis round trip. */
const CHUNKS_PER_BULK = 16;
/** Upper bound of one chunk's payload, whatever its record count. */
const MAX_CHUNK_CHARS = 4 * 1024 * 1024;
/** A dataset server that sends nothing for this long is given up on. */
const IDLE_TIMEOUT_MS = 60_000;

export interface IngestDeps {
  queue: ChunkQueue;
  store: BatchStore;
  closer: BatchCloser;
  config: Config;
  logger: Logger;
}

export interface IngestResult {
  chunks: number;
  records: number;
}

/**
 * Publishes chunks in bulk; `flush` must be awaited before more are added past the limit.
 * Each bulk is one PRODUCER span (`send chunks`, OTel messaging conventions); its context is
 * the one every chunk event of the bulk carries, so consumers' chunk spans descend from it.
 */
class ChunkPublisher {
  private pending: ChunkData[] = [];
  private pendingRecords = 0;
  private publishedChunks = 0;
  private publishedRecords = 0;

  constructor(
    private readonly deps: IngestDeps,
    private readonly batchId: string,
  ) {}

  async add(chunk: ChunkData, records: number): Promise<void> {
    this.pending.push(chunk);
    this.pendingRecords += records;
    if (this.pending.length >= CHUNKS_PER_BULK) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunks = this.pending;
    const records = this.pendingRecords;
    this.pending = [];
    this.pendingRecords = 0;
    const first = chunks[0]?.chunkIndex ?? 0;
    await inSpan(
      `send ${CHUNK_QUEUE}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [MESSAGING.system]: MESSAGING.bullmq,
          [MESSAGING.operationType]: 'send',
          [MESSAGING.operationName]: 'send',
          [MESSAGING.destination]: CHUNK_QUEUE,
          [MESSAGING.batchMessageCount]: chunks.length,
          ...(chunks.length === 1 ? { [MESSAGING.messageId]: chunkJobId(this.batchId, first) } : {}),
          [ATTR.batchId]: this.batchId,
          [ATTR.chunkIndex]: first,
          [ATTR.chunkRecords]: records,
        },
      },
      async () => {
        // Built here, inside the send span, so each event carries the span's context.
        const ctx = context.active();
        await this.deps.queue.addBulk(
          chunks.map((chunk) => ({
            name: 'chunk' as const,
            data: buildChunkEvent(chunk, ctx),
            opts: { jobId: chunkJobId(chunk.batchId, chunk.chunkIndex) },
          })),
        );
      },
    );
    this.publishedChunks += chunks.length;
    this.publishedRecords += records;
    await this.deps.store.setIngestProgress(this.batchId, this.publishedChunks, this.publishedRecords);
  }
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
      const result = await readAndPublish(deps, batchId, request, bytes);
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
): Promise<IngestResult> {
  const { config } = deps;
  const publisher = new ChunkPublisher(deps, batchId);
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
        chunker = newChunker(format.parseHeader?.(record.text, schema));
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
