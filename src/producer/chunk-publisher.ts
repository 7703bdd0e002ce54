/**
 * Publishing chunk events to the queue in bulk, for both ingest paths (records carried in the
 * events, and split descriptors). Progress is set (not added) after each bulk, so a bulk
 * resent after a reconnect cannot count twice.
 */
import { context, SpanKind } from '@opentelemetry/api';
import { buildChunkEvent } from '../shared/events/chunk-event.js';
import { chunkJobId } from '../shared/events/chunk-queue.js';
import { CHUNK_QUEUE } from '../shared/batch/keys.js';
import { ATTR, inSpan, MESSAGING } from '../shared/observability/tracing.js';
import type { ChunkData } from '../shared/types.js';
import type { IngestDeps } from './ingest.js';

/** Chunks published per Redis round trip. */
const CHUNKS_PER_BULK = 16;

/**
 * Publishes chunks in bulk; `flush` must be awaited before more are added past the limit.
 * Each bulk is one PRODUCER span (`send chunks`, OTel messaging conventions); its context is
 * the one every chunk event of the bulk carries, so consumers' chunk spans descend from it.
 */
export class ChunkPublisher {
  private pending: ChunkData[] = [];
  private pendingRecords = 0;
  private publishedChunks = 0;
  private publishedRecords = 0;

  /**
   * @param accounted - chunks already accounted (a resumed ingest): counted, not queued again.
   * @param window - at most this many chunks queued and not yet done (streamed chunks carry
   *   their records: Redis holds a window of the dataset, never all of it).
   */
  constructor(
    private readonly deps: IngestDeps,
    private readonly batchId: string,
    private readonly accounted: ReadonlySet<number> = new Set(),
    private readonly window?: { chunks: number; signal: AbortSignal },
  ) {}

  /** Waits until `adding` more chunks keep the batch within its window. */
  private async waitForRoom(adding: number): Promise<void> {
    const window = this.window;
    if (!window) return;
    for (let waitMs = 20; ; waitMs = Math.min(500, waitMs * 2)) {
      window.signal.throwIfAborted();
      if (this.publishedChunks + adding <= window.chunks) return;
      const view = await this.deps.store.get(this.batchId);
      if (!view) return;
      const done = view.chunks.completed + view.chunks.failed;
      if (this.publishedChunks - done + adding <= window.chunks) return;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  async add(chunk: ChunkData, records: number): Promise<void> {
    if (this.accounted.has(chunk.chunkIndex)) {
      // Queueing it again would run it again and book its cost twice.
      this.publishedChunks++;
      this.publishedRecords += records;
      return;
    }
    this.pending.push(chunk);
    this.pendingRecords += records;
    if (this.pending.length >= Math.min(CHUNKS_PER_BULK, this.window?.chunks ?? CHUNKS_PER_BULK)) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunks = this.pending;
    const records = this.pendingRecords;
    this.pending = [];
    this.pendingRecords = 0;
    const first = chunks[0]?.chunkIndex ?? 0;
    await this.waitForRoom(chunks.length);
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
