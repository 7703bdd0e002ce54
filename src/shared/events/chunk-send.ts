/**
 * Sending a bulk of chunks to the queue: one PRODUCER span (`send chunks`, OTel messaging
 * conventions) per bulk, whose context every chunk event of the bulk carries, so consumers'
 * chunk spans descend from it. Used by the producer's ingest and by consumers queueing the
 * next splits of a batch's window (`split-window.ts`).
 */
import { context, SpanKind } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { JobsOptions } from 'bullmq';
import { CHUNK_QUEUE } from '../batch/keys.js';
import { ATTR, inSpan, MESSAGING } from '../observability/tracing.js';
import type { ChunkData } from '../types.js';
import { buildChunkEvent } from './chunk-event.js';
import { chunkJobId } from './chunk-queue.js';
import type { ChunkQueue } from './chunk-queue.js';

export interface SendOptions {
  /** Records in the bulk, for the span; estimated for splits. */
  records: number;
  /** The send span's parent. @defaultValue the active context */
  parent?: Context;
  /** Job options besides the id; @defaultValue the queue's defaults */
  jobOptions?: JobsOptions;
}

export async function sendChunks(queue: ChunkQueue, batchId: string, chunks: readonly ChunkData[], options: SendOptions): Promise<void> {
  if (chunks.length === 0) return;
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
        ...(chunks.length === 1 ? { [MESSAGING.messageId]: chunkJobId(batchId, first) } : {}),
        [ATTR.batchId]: batchId,
        [ATTR.chunkIndex]: first,
        [ATTR.chunkRecords]: options.records,
      },
    },
    async () => {
      // Built here, inside the send span, so each event carries the span's context.
      const ctx = context.active();
      await queue.addBulk(
        chunks.map((chunk) => ({
          name: 'chunk' as const,
          data: buildChunkEvent(chunk, ctx),
          opts: { ...options.jobOptions, jobId: chunkJobId(chunk.batchId, chunk.chunkIndex) },
        })),
      );
    },
    options.parent,
  );
}
