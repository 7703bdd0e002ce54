/**
 * The chunk CloudEvent (`dev.batchinfer.chunk.v1`), structured mode, as stored in a BullMQ
 * job's data. Trace context rides in the `traceparent`/`tracestate` extension attributes
 * (CloudEvents distributed tracing extension): injected here when the event is built, and
 * extracted here when it is read, nowhere else.
 */
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { ChunkData, SplitDescriptor, SplitRef, StreamedChunkRef } from '../types.js';

export const CHUNK_EVENT_TYPE = 'dev.batchinfer.chunk.v1';
export const CHUNK_EVENT_SOURCE = '/batchinfer/producer';

/** A chunk event as JSON (structured content mode). */
export interface ChunkEventJson {
  specversion: '1.0';
  type: typeof CHUNK_EVENT_TYPE;
  source: string;
  id: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  traceparent?: string;
  tracestate?: string;
  /** A split's reference, or a streamed chunk's records (a whole chunk from builds before 2026-12-02). */
  data: ChunkEventData;
}

/** What a chunk event's `data` may be. */
export type ChunkEventData = SplitRef | StreamedChunkRef | ChunkData;

/** The trace headers of `ctx`, as the W3C propagator writes them (empty without a span). */
export function traceHeaders(ctx: Context = context.active()): { traceparent?: string; tracestate?: string } {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const out: { traceparent?: string; tracestate?: string } = {};
  if (carrier.traceparent) out.traceparent = carrier.traceparent;
  if (carrier.tracestate) out.tracestate = carrier.tracestate;
  return out;
}

/** What a split's event carries: the contract's fields, nothing its batch's plan holds. */
const splitRef = (chunk: ChunkData, split: SplitDescriptor): SplitRef => ({
  batchId: chunk.batchId,
  chunkIndex: chunk.chunkIndex,
  source: split.source,
  version: split.version,
  start: split.start,
  end: split.end,
});

/** What a streamed chunk's event carries: its records, nothing its batch's hash holds. */
function streamedRef(chunk: ChunkData): StreamedChunkRef {
  const ref: StreamedChunkRef = {
    batchId: chunk.batchId,
    chunkIndex: chunk.chunkIndex,
    firstLine: chunk.firstLine,
    records: chunk.records ?? [],
  };
  if (chunk.lines) ref.lines = chunk.lines;
  if (chunk.rejected?.length) ref.rejected = chunk.rejected;
  return ref;
}

/** Builds the event for one chunk, carrying the trace context of `ctx`. */
export function buildChunkEvent(chunk: ChunkData, ctx: Context = context.active()): ChunkEventJson {
  const data = chunk.split ? splitRef(chunk, chunk.split) : streamedRef(chunk);
  return {
    specversion: '1.0',
    type: CHUNK_EVENT_TYPE,
    source: CHUNK_EVENT_SOURCE,
    id: `${data.batchId}-${data.chunkIndex}`,
    subject: data.batchId,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    ...traceHeaders(ctx),
    data,
  };
}

export class InvalidChunkEventError extends Error {
  readonly code = 'CHUNK_EVENT_INVALID';
}

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A byte range of a version of an object: a URL, a version, and a non-empty range. */
function isRef<T extends Partial<Record<keyof SplitRef, unknown>>>(
  data: T,
): data is T & Pick<SplitRef, 'source' | 'version' | 'start' | 'end'> {
  return (
    isNonEmptyString(data.source) && isNonEmptyString(data.version) && isCount(data.start) && isCount(data.end) && data.start < data.end
  );
}

/** A whole split descriptor (events of earlier builds): a range inside the object, and its place. */
function isSplit(split: unknown): split is SplitDescriptor {
  if (typeof split !== 'object' || split === null) return false;
  const s = split as Partial<Record<keyof SplitDescriptor, unknown>>;
  return isRef(s) && isCount(s.size) && s.end <= s.size && isCount(s.splitIndex) && isCount(s.fileIndex) && isCount(s.lineBase);
}

/** A split's reference (its chunk is rebuilt from the batch's plan), not a chunk carrying its records. */
export const isSplitRef = (data: ChunkEventData): data is SplitRef => 'source' in data;

/** A streamed chunk's records without its batch's fields (which a whole chunk of an earlier build carries). */
export const isStreamedRef = (data: ChunkEventData): data is StreamedChunkRef => !('source' in data) && !('format' in data);

/**
 * Reads a chunk event from job data: checks the CloudEvents attributes this format fixes
 * (by hand, not with the CloudEvents SDK: its schema validation per chunk, and loading it
 * at all, cost a consumer scaling from zero before its first chunk) and returns its data
 * and the trace context it carries (the parent of the consumer's span).
 */
export function readChunkEvent(json: unknown): { data: ChunkEventData; parentContext: Context } {
  if (typeof json !== 'object' || json === null) throw new InvalidChunkEventError('chunk job data is not an object');
  const event = json as Partial<Record<keyof ChunkEventJson, unknown>>;
  if (event.specversion !== '1.0') throw new InvalidChunkEventError(`unsupported CloudEvents specversion ${String(event.specversion)}`);
  if (!isNonEmptyString(event.id) || !isNonEmptyString(event.source)) throw new InvalidChunkEventError('chunk event lacks id or source');
  if (event.type !== CHUNK_EVENT_TYPE) throw new InvalidChunkEventError(`unexpected event type ${String(event.type)}`);
  const data = event.data as (ChunkData & Partial<SplitRef>) | undefined;
  if (
    typeof data !== 'object' ||
    data === null ||
    typeof data.batchId !== 'string' ||
    !Number.isInteger(data.chunkIndex) ||
    (!isRef(data) && (!Number.isInteger(data.firstLine) || (!Array.isArray(data.records) && !isSplit(data.split))))
  ) {
    throw new InvalidChunkEventError('chunk event data lacks batchId, chunkIndex, and a split (source, version, start < end) or records');
  }
  const carrier: Record<string, string> = {};
  if (typeof event.traceparent === 'string') carrier.traceparent = event.traceparent;
  if (typeof event.tracestate === 'string') carrier.tracestate = event.tracestate;
  // Never an ambient context: a chunk continues the trace it was published in, or none.
  return { data, parentContext: propagation.extract(ROOT_CONTEXT, carrier) };
}
