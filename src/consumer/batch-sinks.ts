/**
 * The output sinks of the batches a consumer works on: one per batch, kept open so its folder
 * is made once, and checked once when opened against the consumer's own `OUTPUT_URL` (a
 * chunk written to Redis by anyone must not direct writes elsewhere).
 */
import { openBatchSink } from '../shared/io/sinks/registry.js';
import type { OutputSink } from '../shared/io/sinks/output-sink.js';
import type { ChunkData } from '../shared/types.js';

/** Batches whose sinks are kept open; a consumer rarely works on more at once. */
const SINK_CACHE_SIZE = 32;

export class BatchSinks {
  /** Most recently used last. */
  private readonly sinks = new Map<string, OutputSink>();

  /** @param outputRoot - this consumer's `OUTPUT_URL`: the only place its chunks may write to. */
  constructor(private readonly outputRoot: string) {}

  /** The sink of the chunk's batch; throws `OutputRefusedError` for a location outside the root. */
  for(chunk: Pick<ChunkData, 'outputUrl' | 'batchId'>): OutputSink {
    const key = `${chunk.outputUrl}\n${chunk.batchId}`;
    let sink = this.sinks.get(key);
    if (sink) this.sinks.delete(key);
    else sink = openBatchSink(chunk.outputUrl, chunk.batchId, this.outputRoot);
    this.sinks.set(key, sink);
    if (this.sinks.size > SINK_CACHE_SIZE) this.sinks.delete(this.sinks.keys().next().value as string);
    return sink;
  }
}
