/**
 * A split batch's plan, queued a window at a time. A queued split costs Redis about 1.5 kB
 * (BullMQ's job hash, its queue entry and event) whatever its size, so queueing every split
 * of a large dataset would make Redis grow with the dataset after all. Instead the producer
 * stores the plan once (a few hundred bytes per input object: where each object's splits
 * start and how long they are) and queues the first `INGEST_WINDOW_SPLITS` splits; each
 * consumer, taking split `i`, queues the splits up to `i + window` that are not queued yet.
 * Redis holds the plan and a window, never all the splits, and the producer is free as soon
 * as it planned (a batch outlives no producer).
 *
 * Nothing is lost whatever crashes: a split is queued (idempotent job id) before the cursor
 * moves past it, so a consumer dying in between only makes the next one queue it again; and
 * every queued split, when taken up (retries and stalled chunks included), queues what
 * follows it. A split queued again after it completed runs as an already-accounted chunk and
 * is skipped. The cursor only moves forward (a Lua max), so consumers racing agree.
 *
 * Events queued by consumers carry the trace context the plan was stored in (the producer's
 * planning span), so every chunk span of the batch hangs off one trace, at one depth.
 */
import { propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { chunkJobOptions } from '../events/chunk-queue.js';
import type { ChunkQueue } from '../events/chunk-queue.js';
import { sendChunks } from '../events/chunk-send.js';
import { InvalidChunkEventError, traceHeaders } from '../events/chunk-event.js';
import type { RecordSchema } from '../formats/record-format.js';
import type { ChunkData, DatasetFormat, SplitDescriptor, SplitRef } from '../types.js';
import { defineScript } from './lua-script.js';
import type { LuaScript } from './lua-script.js';

/** One input object as planned: enough to rebuild any of its splits. */
export interface PlannedObject {
  source: string;
  version: string;
  size: number;
  /** The object's place among the batch's input objects. */
  fileIndex: number;
  /** First byte of the first split (past a CSV header). */
  dataStart: number;
  /** Lines before `dataStart` (the header and blank lines before it). */
  lineBase: number;
  /** Bytes per split (the last one is shorter). */
  splitBytes: number;
  /** How many splits the object has. */
  count: number;
  /** The CSV header, read once at planning. */
  header?: string[];
}

/** What the producer stores for a split batch. */
export interface StoredSplitPlan {
  batchId: string;
  format: DatasetFormat;
  model: string;
  outputUrl: string;
  schema?: Partial<RecordSchema>;
  objects: PlannedObject[];
  /** Splits over all objects: chunk indexes are 0 … total - 1, object after object. */
  total: number;
  /** Splits queued ahead of the consumers (`INGEST_WINDOW_SPLITS`). */
  window: number;
  /** Options of every chunk job (the producer's `CHUNK_ATTEMPTS` and `CHUNK_BACKOFF_MS`). */
  attempts: number;
  backoffMs: number;
  /** Records per split, estimated, for the send spans. */
  recordsPerSplit: number;
  /** The context the plan was stored in, which every split's event continues. */
  trace: { traceparent?: string; tracestate?: string };
}

/** Hash: `plan` (JSON) and `queued` (splits queued so far: 0 … queued - 1). */
export const splitWindowKey = (prefix: string, batchId: string): string => `${prefix}:batch:${batchId}:splits`;

/** Split `i` of an object (the last one ends at the object's end). */
export function splitAt(object: PlannedObject, i: number): SplitDescriptor {
  const start = object.dataStart + i * object.splitBytes;
  return {
    source: object.source,
    version: object.version,
    size: object.size,
    start,
    end: Math.min(object.size, start + object.splitBytes),
    splitIndex: i,
    fileIndex: object.fileIndex,
    lineBase: i === 0 ? object.lineBase : 0,
  };
}

/** The chunks `from` … `to - 1` of a plan, in order (objects one after the other). */
export function* planChunks(plan: StoredSplitPlan, from: number, to: number): Generator<ChunkData> {
  let first = 0;
  for (const object of plan.objects) {
    const end = first + object.count;
    for (let index = Math.max(from, first); index < Math.min(to, end); index++) {
      const chunk: ChunkData = {
        batchId: plan.batchId,
        chunkIndex: index,
        firstLine: 1,
        split: splitAt(object, index - first),
        format: plan.format,
        model: plan.model,
        outputUrl: plan.outputUrl,
      };
      if (object.header) chunk.header = object.header;
      if (plan.schema) chunk.schema = plan.schema;
      yield chunk;
    }
    first = end;
    if (first >= to) return;
  }
}

const ADVANCE = { file: 'advance-split-window', keys: ['splits'], args: ['to'] } as const;
/** Splits per bulk when queueing. */
const BULK = 64;
/** Batches whose plan a consumer keeps in memory. */
const PLANS_KEPT = 32;

/** A plan as a consumer knows it: the plan, and a lower bound of its cursor. */
interface KnownPlan {
  plan: StoredSplitPlan | null;
  queued: number;
}

export class SplitWindow {
  private readonly advance: LuaScript<'splits', 'to', number>;
  private readonly known = new Map<string, KnownPlan>();

  constructor(
    private readonly redis: Redis,
    private readonly queue: ChunkQueue,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {
    this.advance = defineScript(redis, ADVANCE);
  }

  /**
   * Stores the plan (the producer, inside its planning span), keeping the cursor of a plan
   * stored before (a resumed ingest plans the same splits).
   */
  async store(plan: Omit<StoredSplitPlan, 'trace'>): Promise<StoredSplitPlan> {
    const stored: StoredSplitPlan = { ...plan, trace: traceHeaders() };
    const key = splitWindowKey(this.prefix, plan.batchId);
    await this.redis.multi().hset(key, 'plan', JSON.stringify(stored)).hsetnx(key, 'queued', 0).expire(key, this.ttlSeconds).exec();
    return stored;
  }

  /** Queues the splits before `to` not queued yet; returns the cursor after. */
  async fill(plan: StoredSplitPlan, to: number): Promise<number> {
    const key = splitWindowKey(this.prefix, plan.batchId);
    const target = Math.min(plan.total, to);
    let queued = Number((await this.redis.hget(key, 'queued')) ?? 0);
    const parent = propagation.extract(ROOT_CONTEXT, plan.trace);
    const jobOptions = chunkJobOptions(plan.attempts, plan.backoffMs);
    while (queued < target) {
      const end = Math.min(target, queued + BULK);
      const chunks = [...planChunks(plan, queued, end)];
      await sendChunks(this.queue, plan.batchId, chunks, { records: Math.round(plan.recordsPerSplit * chunks.length), parent, jobOptions });
      // Only once they are queued: a crash before this queues them again, never skips them.
      queued = await this.advance({ keys: { splits: key }, args: { to: end } });
    }
    return queued;
  }

  /**
   * A consumer took split `chunkIndex` up: queues the splits up to `chunkIndex + window`.
   * Reads Redis only when the cursor it last saw is within a step of that, so most chunks
   * cost nothing here. Batches planned without a window (no plan stored) are left alone.
   */
  async topUp(batchId: string, chunkIndex: number): Promise<void> {
    const known = await this.knownPlan(batchId);
    if (!needsFill(known, chunkIndex)) return;
    const plan = known.plan as StoredSplitPlan;
    known.queued = await this.fill(plan, chunkIndex + plan.window);
  }

  /**
   * The whole chunk a split's event refers to, from its batch's plan; null when the plan is
   * gone (the batch expired). An event that does not match its plan is refused.
   */
  async resolve(ref: SplitRef): Promise<ChunkData | null> {
    const { plan } = await this.knownPlan(ref.batchId);
    if (!plan) return null;
    const [chunk]: (ChunkData | undefined)[] = ref.chunkIndex < plan.total ? [...planChunks(plan, ref.chunkIndex, ref.chunkIndex + 1)] : [];
    const split = chunk?.split;
    if (!chunk || split?.source !== ref.source || split.version !== ref.version || split.start !== ref.start || split.end !== ref.end) {
      throw new InvalidChunkEventError(`chunk event ${ref.batchId}-${ref.chunkIndex} does not match its batch's plan`);
    }
    return chunk;
  }

  /** The batch's plan as this process knows it (read from Redis once per batch) and a lower bound of its cursor. */
  private async knownPlan(batchId: string): Promise<KnownPlan> {
    const cached = this.known.get(batchId);
    if (cached) return cached;
    const [text, queued] = await this.redis.hmget(splitWindowKey(this.prefix, batchId), 'plan', 'queued');
    const known = { plan: text ? (JSON.parse(text) as StoredSplitPlan) : null, queued: Number(queued ?? 0) };
    // Only a plan is kept: a batch without one (its events carry whole chunks, from a build
    // before plans) may get one when a newer producer resumes its ingest.
    if (known.plan) this.remember(batchId, known);
    return known;
  }

  private remember(batchId: string, known: KnownPlan): void {
    this.known.set(batchId, known);
    if (this.known.size > PLANS_KEPT) this.known.delete(this.known.keys().next().value as string);
  }
}

/**
 * Whether splits before `chunkIndex + window` may be unqueued. A step of slack (a quarter of
 * the window, at most one bulk) makes consumers queue in bulks rather than one split each.
 */
function needsFill(known: KnownPlan, chunkIndex: number): boolean {
  const plan = known.plan;
  if (!plan) return false;
  const step = Math.max(1, Math.min(BULK, Math.floor(plan.window / 4)));
  const target = Math.min(plan.total, chunkIndex + plan.window);
  return known.queued < target - (target === plan.total ? 0 : step - 1);
}
