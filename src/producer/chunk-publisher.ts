/**
 * Publishing the streaming path's chunk events (records carried in the events) to the queue
 * in bulk, within a window of chunks not yet done. Progress is set (not added) after each
 * bulk, so a bulk resent after a reconnect cannot count twice. (Split batches are queued by
 * `split-window.ts`.)
 */
import { sendChunks } from '../shared/events/chunk-send.js';
import type { ChunkData } from '../shared/types.js';
import type { IngestDeps } from './ingest.js';

/** Chunks published per Redis round trip. */
const CHUNKS_PER_BULK = 16;

/**
 * Publishes chunks in bulk (one `send chunks` span each, `chunk-send.ts`); `flush` must be
 * awaited before more are added past the limit.
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
    await this.waitForRoom(chunks.length);
    await sendChunks(this.deps.queue, this.batchId, chunks, { records });
    this.publishedChunks += chunks.length;
    this.publishedRecords += records;
    await this.deps.store.setIngestProgress(this.batchId, this.publishedChunks, this.publishedRecords);
  }
}
