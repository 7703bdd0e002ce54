/**
 * Batch state in Redis: the request, the status, and the counters that consumers update
 * as chunks finish. Every transition is one Lua script, so concurrent consumers, a replayed
 * chunk and the producer finishing ingest can never double-count or close a batch twice.
 */
import type { Redis } from 'ioredis';
import { batchIndexKey, batchKeys, idempotencyKey, ingestingIndexKey } from './keys.js';
import type { BatchRequest, BatchStatus, BatchView } from './types.js';

/** What a consumer reports for one chunk (counts are replaced on replay, cost is added). */
export interface ChunkResult {
  succeeded: number;
  failed: number;
  /** Sum and count of numeric predictions, for `avg_prediction`. */
  predictionSum: number;
  predictionCount: number;
  /** Model time for the chunk, ms. */
  latencyMs: number;
  /** The chunk failed after all its attempts (its records are reported as errors). */
  chunkFailed: boolean;
  costUsd: number;
  cpuSeconds: number;
  allocatedCpuSeconds: number;
  wallSeconds: number;
}

/** Result of a transition: whether the caller should now close the batch. */
export type CloseSignal = 'close' | 'open' | 'gone';

// Returns 1 when ingest has finished and every chunk is accounted for.
const CLOSE_CHECK = `
local function readyToClose(batchKey)
  if redis.call('HGET', batchKey, 'status') ~= 'running' then return 0 end
  local total = tonumber(redis.call('HGET', batchKey, 'chunksTotal') or '-1')
  local done = tonumber(redis.call('HGET', batchKey, 'chunksDone') or '0')
  if done >= total then return 1 end
  return 0
end
`;

const RECORD_CHUNK = `${CLOSE_CHECK}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local idx = ARGV[1]
local s, f, p, pc, l, x = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local newChunk = 1
local part = 0
if s > 0 then part = 1 end
local old = redis.call('HGET', KEYS[2], idx)
if old then
  newChunk = 0
  local os, of, op, opc, ol, ox = string.match(old, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  s = s - tonumber(os); f = f - tonumber(of); p = p - tonumber(op)
  pc = pc - tonumber(opc); l = l - tonumber(ol); x = x - tonumber(ox)
  if tonumber(os) > 0 then part = part - 1 end
end
redis.call('HSET', KEYS[2], idx, table.concat({ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]}, '|'))
if ARGV[7] == '1' then redis.call('SADD', KEYS[3], idx) else redis.call('SREM', KEYS[3], idx) end
redis.call('HINCRBY', KEYS[1], 'recordsSucceeded', s)
redis.call('HINCRBY', KEYS[1], 'recordsFailed', f)
redis.call('HINCRBY', KEYS[1], 'chunksDone', newChunk)
redis.call('HINCRBY', KEYS[1], 'chunksFailed', x)
redis.call('HINCRBY', KEYS[1], 'parts', part)
redis.call('HINCRBY', KEYS[1], 'predictionCount', pc)
redis.call('HINCRBYFLOAT', KEYS[1], 'predictionSum', string.format('%.17g', p))
redis.call('HINCRBYFLOAT', KEYS[1], 'latencyMs', string.format('%.17g', l))
redis.call('HINCRBYFLOAT', KEYS[1], 'costUsd', ARGV[8])
redis.call('HINCRBYFLOAT', KEYS[1], 'cpuSeconds', ARGV[9])
redis.call('HINCRBYFLOAT', KEYS[1], 'allocatedCpuSeconds', ARGV[10])
redis.call('HINCRBYFLOAT', KEYS[1], 'wallSeconds', ARGV[11])
return readyToClose(KEYS[1])
`;

const MARK_INGESTED = `${CLOSE_CHECK}
if redis.call('HGET', KEYS[1], 'status') ~= 'ingesting' then return -1 end
redis.call('HSET', KEYS[1], 'chunksTotal', ARGV[1], 'recordsTotal', ARGV[2], 'status', 'running', 'ingestedAt', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[4])
return readyToClose(KEYS[1])
`;

// Moves a running batch to its final status; returns 0 when someone else already did.
const FINISH = `
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'completedAt', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
return 1
`;

// Fails (or cancels) a batch that has not finished; halted batches' chunks are skipped.
const HALT = `
local st = redis.call('HGET', KEYS[1], 'status')
if not st or st == 'completed' or st == 'failed' or st == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'error', ARGV[2], 'completedAt', ARGV[3], 'halted', '1')
if ARGV[6] and ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'errorCode', ARGV[6]) end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
redis.call('ZREM', KEYS[4], ARGV[5])
return 1
`;

// Claims several idempotency keys at once: if any already names a batch, every key is
// pointed at that batch (so later duplicates find it by any of them) and its id returned;
// otherwise all keys get ARGV[1]. One script, so two duplicates racing never both win.
const CLAIM_KEYS = `
local existing = false
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then existing = v; break end
end
local value = existing or ARGV[1]
for i = 1, #KEYS do redis.call('SET', KEYS[i], value, 'EX', ARGV[2], 'NX') end
return existing
`;

// Reopens a batch that failed with failed chunks, for the chunks in ARGV to run again: each
// one's accounting is taken back out (as if it had never run), so the batch closes again,
// by the usual rule, once they are all accounted. Returns how many chunks were reopened,
// or -1 when the batch is not a failed batch whose chunks can run again.
const REOPEN = `
if redis.call('HGET', KEYS[1], 'status') ~= 'failed' or redis.call('HGET', KEYS[1], 'halted') == '1' then return -1 end
local n = 0
for _, idx in ipairs(ARGV) do
  if redis.call('SREM', KEYS[3], idx) == 1 then
    n = n + 1
    local old = redis.call('HGET', KEYS[2], idx)
    if old then
      local os, of, op, opc, ol, ox = string.match(old, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
      redis.call('HINCRBY', KEYS[1], 'recordsSucceeded', 0 - tonumber(os))
      redis.call('HINCRBY', KEYS[1], 'recordsFailed', 0 - tonumber(of))
      redis.call('HINCRBY', KEYS[1], 'chunksDone', -1)
      redis.call('HINCRBY', KEYS[1], 'chunksFailed', 0 - tonumber(ox))
      if tonumber(os) > 0 then redis.call('HINCRBY', KEYS[1], 'parts', -1) end
      redis.call('HINCRBY', KEYS[1], 'predictionCount', 0 - tonumber(opc))
      redis.call('HINCRBYFLOAT', KEYS[1], 'predictionSum', string.format('%.17g', 0 - tonumber(op)))
      redis.call('HINCRBYFLOAT', KEYS[1], 'latencyMs', string.format('%.17g', 0 - tonumber(ol)))
      redis.call('HDEL', KEYS[2], idx)
    end
  end
end
if n == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'running')
redis.call('HDEL', KEYS[1], 'completedAt', 'error')
for i = 1, 3 do redis.call('PERSIST', KEYS[i]) end
return n
`;

interface BatchCommands {
  batchClaimKeys(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<string | null>;
  batchRecordChunk(k1: string, k2: string, k3: string, ...args: (string | number)[]): Promise<number>;
  batchMarkIngested(k1: string, ...args: (string | number)[]): Promise<number>;
  batchFinish(k1: string, k2: string, k3: string, ...args: (string | number)[]): Promise<number>;
  batchHalt(k1: string, k2: string, k3: string, k4: string, ...args: (string | number)[]): Promise<number>;
  batchReopen(k1: string, k2: string, k3: string, ...args: (string | number)[]): Promise<number>;
}

const toSignal = (n: number): CloseSignal => (n === 1 ? 'close' : n === -1 ? 'gone' : 'open');
const num = (v: string | undefined): number => (v === undefined || v === '' ? 0 : Number(v));
const nowIso = (): string => new Date().toISOString();

export class BatchStore {
  private readonly redis: Redis & BatchCommands;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {
    redis.defineCommand('batchClaimKeys', { lua: CLAIM_KEYS });
    redis.defineCommand('batchRecordChunk', { numberOfKeys: 3, lua: RECORD_CHUNK });
    redis.defineCommand('batchMarkIngested', { numberOfKeys: 2, lua: MARK_INGESTED });
    redis.defineCommand('batchFinish', { numberOfKeys: 3, lua: FINISH });
    redis.defineCommand('batchHalt', { numberOfKeys: 4, lua: HALT });
    redis.defineCommand('batchReopen', { numberOfKeys: 3, lua: REOPEN });
    this.redis = redis as Redis & BatchCommands;
  }

  private keys(id: string): [string, string, string] {
    const k = batchKeys(this.prefix, id);
    return [k.batch, k.chunks, k.failed];
  }

  /**
   * Reserves an idempotency key for `id`. Returns the id of the batch that already holds the
   * key, or undefined when `id` got it.
   */
  async claimIdempotencyKey(key: string, id: string): Promise<string | undefined> {
    return this.claimIdempotencyKeys([key], id);
  }

  /**
   * Reserves several keys for `id` atomically (a client key, a CloudEvent's source + id, a
   * schedule tick): returns the id of the batch that already holds any of them, or undefined
   * when `id` got them all. Keys live under the queue prefix for the batch TTL.
   */
  async claimIdempotencyKeys(keys: readonly string[], id: string): Promise<string | undefined> {
    if (keys.length === 0) return undefined;
    const redisKeys = keys.map((k) => idempotencyKey(this.prefix, k));
    return (await this.redis.batchClaimKeys(redisKeys.length, ...redisKeys, id, this.ttlSeconds)) ?? undefined;
  }

  /** @param traceId - the trace the batch belongs to, shown by the status API so its logs can be found. */
  async create(id: string, request: BatchRequest, traceId?: string): Promise<void> {
    const [batchKey] = this.keys(id);
    const now = Date.now();
    await this.redis
      .multi()
      .hset(batchKey, {
        id,
        status: 'ingesting' satisfies BatchStatus,
        datasetUrl: request.datasetUrl,
        format: request.format,
        model: request.model,
        chunkSize: request.chunkSize,
        outputUrl: request.outputUrl,
        labels: JSON.stringify(request.labels),
        schedule: request.schedule ?? '',
        traceId: traceId ?? '',
        createdAt: new Date(now).toISOString(),
        chunksEnqueued: 0,
        recordsRead: 0,
      })
      .zadd(batchIndexKey(this.prefix), now, id)
      .zadd(ingestingIndexKey(this.prefix), now, id)
      .exec();
  }

  /** The request a batch was created with, the dataset version its ingest first saw, its trace. */
  async getRequest(id: string): Promise<{ request: BatchRequest; datasetVersion: string | undefined; traceId: string | undefined } | null> {
    const h = await this.redis.hgetall(this.keys(id)[0]);
    if (!h.id) return null;
    const request: BatchRequest = {
      datasetUrl: h.datasetUrl ?? '',
      format: (h.format ?? 'jsonl') as BatchRequest['format'],
      model: h.model ?? '',
      chunkSize: num(h.chunkSize),
      outputUrl: h.outputUrl ?? '',
      labels: h.labels ? (JSON.parse(h.labels) as Record<string, string>) : {},
    };
    if (h.schedule) request.schedule = h.schedule;
    return { request, datasetVersion: h.datasetVersion, traceId: h.traceId || undefined };
  }

  /**
   * Records the version (ETag, Last-Modified, mtime) of the dataset as the first ingest opened
   * it; "" when the source gives none. A resumed ingest must read the same version, or it
   * would stitch two different files into one batch. Kept from the first attempt on.
   */
  async setDatasetVersion(id: string, version: string | undefined): Promise<void> {
    await this.redis.hsetnx(this.keys(id)[0], 'datasetVersion', version ?? '');
  }

  /** Indexes of the chunks whose result is accounted (succeeded or failed). */
  async accountedChunks(id: string): Promise<Set<number>> {
    return new Set((await this.redis.hkeys(this.keys(id)[1])).map(Number));
  }

  /** Ids of batches still ingesting, oldest first (at most `limit`). */
  async listIngesting(limit = 1000): Promise<string[]> {
    return this.redis.zrange(ingestingIndexKey(this.prefix), '0', String(limit - 1));
  }

  /**
   * Progress while ingesting, shown by the status API and the CLI's progress bar: totals so
   * far, set rather than added, so a command resent after a Redis reconnect cannot count twice.
   */
  async setIngestProgress(id: string, chunksEnqueued: number, recordsRead: number): Promise<void> {
    await this.redis.hset(this.keys(id)[0], 'chunksEnqueued', chunksEnqueued, 'recordsRead', recordsRead);
  }

  async markIngested(id: string, chunksTotal: number, recordsTotal: number): Promise<CloseSignal> {
    const [batchKey] = this.keys(id);
    return toSignal(await this.redis.batchMarkIngested(batchKey, ingestingIndexKey(this.prefix), chunksTotal, recordsTotal, nowIso(), id));
  }

  async recordChunk(id: string, chunkIndex: number, r: ChunkResult): Promise<CloseSignal> {
    const result = await this.redis.batchRecordChunk(
      ...this.keys(id),
      chunkIndex,
      r.succeeded,
      r.failed,
      r.predictionSum,
      r.predictionCount,
      r.latencyMs,
      r.chunkFailed ? 1 : 0,
      r.costUsd,
      r.cpuSeconds,
      r.allocatedCpuSeconds,
      r.wallSeconds,
    );
    return toSignal(result);
  }

  /** Final transition of a running batch. Returns false when another process finished it first. */
  async finish(id: string, status: 'completed' | 'failed', error?: string): Promise<boolean> {
    return (await this.redis.batchFinish(...this.keys(id), status, nowIso(), error ?? '', this.ttlSeconds)) === 1;
  }

  /** Stops a batch that has not finished (ingest failure, cancellation); `code` is the error's stable code. */
  async halt(id: string, status: 'failed' | 'cancelled', error: string, code = ''): Promise<boolean> {
    return (await this.redis.batchHalt(...this.keys(id), ingestingIndexKey(this.prefix), status, error, nowIso(), this.ttlSeconds, id, code)) === 1;
  }

  /**
   * Takes a failed batch back to `running` for `chunkIndexes` (members of its failed set) to
   * run again; it closes again when they are accounted. Returns how many were reopened, or -1
   * when the batch is not failed, or was halted (its ingest failed, or it was cancelled).
   */
  async reopen(id: string, chunkIndexes: readonly number[]): Promise<number> {
    if (chunkIndexes.length === 0) return 0;
    return this.redis.batchReopen(...this.keys(id), ...chunkIndexes);
  }

  /** The status and halt flag, the cheap read a consumer does before each chunk. */
  async getState(id: string): Promise<{ status: BatchStatus; halted: boolean; labels: Record<string, string> } | null> {
    const [status, halted, labels] = await this.redis.hmget(this.keys(id)[0], 'status', 'halted', 'labels');
    if (!status) return null;
    return { status: status as BatchStatus, halted: halted === '1', labels: labels ? (JSON.parse(labels) as Record<string, string>) : {} };
  }

  /** Figures `manifest.json` needs beyond the view: prediction and latency totals. */
  async getSummaryInputs(id: string): Promise<{ predictionSum: number; predictionCount: number; latencyMs: number }> {
    const [sum, count, latency] = await this.redis.hmget(this.keys(id)[0], 'predictionSum', 'predictionCount', 'latencyMs');
    return { predictionSum: num(sum ?? undefined), predictionCount: num(count ?? undefined), latencyMs: num(latency ?? undefined) };
  }

  async get(id: string): Promise<BatchView | null> {
    const [batchKey, , failedKey] = this.keys(id);
    const [[, hash], [, failed]] = (await this.redis.multi().hgetall(batchKey).smembers(failedKey).exec()) as [
      [Error | null, Record<string, string>],
      [Error | null, string[]],
    ];
    if (!hash.id) return null;
    return toView(hash, failed.map(Number).sort((a, b) => a - b));
  }
}

function toView(h: Record<string, string>, failedChunks: number[]): BatchView {
  const chunksTotal = h.chunksTotal === undefined ? null : num(h.chunksTotal);
  const recordsTotal = h.recordsTotal === undefined ? null : num(h.recordsTotal);
  const done = num(h.chunksDone);
  const chunksFailed = num(h.chunksFailed);
  const succeeded = num(h.recordsSucceeded);
  const recordsFailed = num(h.recordsFailed);
  const usd = num(h.costUsd);
  const processed = succeeded + recordsFailed;
  const allocated = num(h.allocatedCpuSeconds);
  const view: BatchView = {
    id: h.id ?? '',
    status: (h.status ?? 'failed') as BatchStatus,
    model: h.model ?? '',
    datasetUrl: h.datasetUrl ?? '',
    labels: h.labels ? (JSON.parse(h.labels) as Record<string, string>) : {},
    chunks: { total: chunksTotal, enqueued: num(h.chunksEnqueued), completed: done - chunksFailed, failed: chunksFailed },
    records: { total: recordsTotal, read: num(h.recordsRead), succeeded, failed: recordsFailed },
    cost: {
      usd,
      cpuSeconds: num(h.cpuSeconds),
      wallSeconds: num(h.wallSeconds),
      usdPerRecord: processed > 0 ? usd / processed : 0,
      efficiency: allocated > 0 ? num(h.cpuSeconds) / allocated : null,
    },
    output: { url: h.outputUrl ?? '', parts: num(h.parts) },
    failedChunks,
    createdAt: h.createdAt ?? '',
    ingestedAt: h.ingestedAt ?? null,
    completedAt: h.completedAt ?? null,
  };
  if (h.schedule) view.schedule = h.schedule;
  if (h.error) view.error = h.error;
  if (h.traceId) view.traceId = h.traceId;
  if (h.errorCode) view.errorCode = h.errorCode;
  return view;
}
