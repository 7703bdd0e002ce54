/**
 * Batch state in Redis: the request, the status, and the counters that consumers update
 * as chunks finish. Every transition is one Lua script, so concurrent consumers, a replayed
 * chunk and the producer finishing ingest can never double-count or close a batch twice.
 */
import type { Redis } from 'ioredis';
import { costMonth, MONTH_COST_TTL_SECONDS } from './cost.js';
import type { Observation } from '../observability/histogram-buckets.js';
import {
  activeBatchesKey,
  batchIndexKey,
  batchKeys,
  finishedBatchesKey,
  idempotencyKey,
  ingestingIndexKey,
  metricKeys,
  teamMonthCostKey,
} from './keys.js';
import type { MetricKeys } from './keys.js';
import type { BatchRequest, BatchStatus, BatchView } from '../types.js';
import { batchFolderUrl } from '../io/sinks/registry.js';

/** What one attempt at a chunk cost and how long it waited and ran, whatever its outcome. */
export interface AttemptUsage {
  /** Allocated cost of the attempt, USD. */
  costUsd: number;
  /** CPU seconds the attempt actually used. */
  cpuSeconds: number;
  /** CPU seconds allocated to the attempt (its share of the pod's limit × wall time). */
  allocatedCpuSeconds: number;
  wallSeconds: number;
  /** Wait of this attempt (from when it became runnable to when it started). */
  wait: Observation;
  /** Processing time of this attempt. */
  processing: Observation;
}

/** An attempt that failed and will be retried (or was handed back on shutdown). */
export interface FailedAttempt extends AttemptUsage {
  /** Low-cardinality reason, a metric label. */
  reason: string;
}

/** What a consumer reports for one chunk (counts are replaced on replay, cost is added). */
export interface ChunkResult extends AttemptUsage {
  succeeded: number;
  failed: number;
  /** Sum and count of numeric predictions, for `avg_prediction`. */
  predictionSum: number;
  predictionCount: number;
  /** Model time for the chunk, ms. */
  latencyMs: number;
  /** The chunk failed after all its attempts (its records are reported as errors). */
  chunkFailed: boolean;
  /** Why it failed (a low-cardinality metric label), when `chunkFailed`. */
  failureReason?: string;
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

// Cost attribution and histograms, shared by the chunk and attempt scripts. Labels come
// from the batch hash, so callers never pass them and a chunk cannot be misattributed.
const METRICS = `
local function attribution(batchKey)
  local team, project = '', ''
  local raw = redis.call('HGET', batchKey, 'labels')
  if raw then
    local ok, labels = pcall(cjson.decode, raw)
    if ok and type(labels) == 'table' then
      if type(labels.team) == 'string' then team = labels.team end
      if type(labels.project) == 'string' then project = labels.project end
    end
  end
  return team, project, (redis.call('HGET', batchKey, 'model') or '')
end
local function observe(histKey, bucket, value)
  if bucket == '' then return end
  redis.call('HINCRBY', histKey, bucket, 1)
  redis.call('HINCRBY', histKey, 'count', 1)
  redis.call('HINCRBYFLOAT', histKey, 'sum', value)
end
-- costKeys: usd, cpu, allocated, team-month; cost: usd, cpu, allocated, wall
local function addCost(batchKey, costKeys, cost, monthTtl, team, tuple)
  redis.call('HINCRBYFLOAT', batchKey, 'costUsd', cost[1])
  redis.call('HINCRBYFLOAT', batchKey, 'cpuSeconds', cost[2])
  redis.call('HINCRBYFLOAT', batchKey, 'allocatedCpuSeconds', cost[3])
  redis.call('HINCRBYFLOAT', batchKey, 'wallSeconds', cost[4])
  redis.call('HINCRBYFLOAT', costKeys[1], tuple, cost[1])
  redis.call('HINCRBYFLOAT', costKeys[2], tuple, cost[2])
  redis.call('HINCRBYFLOAT', costKeys[3], tuple, cost[3])
  redis.call('HINCRBYFLOAT', costKeys[4], team, cost[1])
  redis.call('EXPIRE', costKeys[4], monthTtl)
end
`;

// KEYS: batch, chunks, failed, wait hist, processing hist, records, chunk failures,
//       cost usd, cpu s, allocated cpu s, team-month cost
// ARGV: idx, succeeded, failed, predSum, predCount, latency, chunkFailed, usd, cpu, allocated,
//       wall, waitBucket, wait, processingBucket, processing, failureReason, monthTtl
const RECORD_CHUNK = `${CLOSE_CHECK}${METRICS}
observe(KEYS[4], ARGV[12], ARGV[13])
observe(KEYS[5], ARGV[14], ARGV[15])
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
local team, project, model = attribution(KEYS[1])
addCost(KEYS[1], {KEYS[8], KEYS[9], KEYS[10], KEYS[11]}, {ARGV[8], ARGV[9], ARGV[10], ARGV[11]}, ARGV[17], team, cjson.encode({team, project, model}))
-- Counters only grow: a replay adds what it raises (a failed chunk that later succeeds
-- counts its records once as failed, then once as succeeded).
if s > 0 then redis.call('HINCRBY', KEYS[6], cjson.encode({'succeeded', team, project, model}), s) end
if f > 0 then redis.call('HINCRBY', KEYS[6], cjson.encode({'failed', team, project, model}), f) end
if x > 0 then redis.call('HINCRBY', KEYS[7], ARGV[16], 1) end
return readyToClose(KEYS[1])
`;

// KEYS: batch, wait hist, processing hist, chunk retries, cost usd, cpu s, allocated cpu s, team-month cost
// ARGV: usd, cpu, allocated, wall, waitBucket, wait, processingBucket, processing, reason, monthTtl
const RECORD_ATTEMPT = `${METRICS}
observe(KEYS[2], ARGV[5], ARGV[6])
observe(KEYS[3], ARGV[7], ARGV[8])
redis.call('HINCRBY', KEYS[4], ARGV[9], 1)
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local team, project, model = attribution(KEYS[1])
addCost(KEYS[1], {KEYS[5], KEYS[6], KEYS[7], KEYS[8]}, {ARGV[1], ARGV[2], ARGV[3], ARGV[4]}, ARGV[10], team, cjson.encode({team, project, model}))
return 0
`;

// Every status transition also moves the batch gauges and the in-progress and finished
// sets, so the exporter reads batches by status without scanning batches.
const LEAVE_ACTIVE = `
-- gauges: ingesting/running now, created and <final status> totals; finished: the set of
-- the new status, trimmed to the batch TTL (what the status API still knows).
local function leaveActive(gauges, active, finished, from, to, id, now, ttl)
  redis.call('HINCRBY', gauges, from, -1)
  redis.call('HINCRBY', gauges, to, 1)
  redis.call('ZREM', active, id)
  redis.call('ZADD', finished, now, id)
  redis.call('ZREMRANGEBYSCORE', finished, '-inf', '(' .. (now - ttl * 1000))
end
`;

// KEYS: batch, ingesting index, batch gauges. ARGV: chunksTotal, recordsTotal, ingestedAt, id
const MARK_INGESTED = `${CLOSE_CHECK}
if redis.call('HGET', KEYS[1], 'status') ~= 'ingesting' then return -1 end
redis.call('HSET', KEYS[1], 'chunksTotal', ARGV[1], 'recordsTotal', ARGV[2], 'status', 'running', 'ingestedAt', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('HINCRBY', KEYS[3], 'ingesting', -1)
redis.call('HINCRBY', KEYS[3], 'running', 1)
return readyToClose(KEYS[1])
`;

// Moves a running batch to its final status; returns 0 when someone else already did.
// KEYS: batch, chunks, failed, batch gauges, active set, finished set of the new status
// ARGV: status, completedAt, error, ttl, id, now ms
const FINISH = `${LEAVE_ACTIVE}
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'completedAt', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
leaveActive(KEYS[4], KEYS[5], KEYS[6], 'running', ARGV[1], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[4]))
return 1
`;

// Fails (or cancels) a batch that has not finished; halted batches' chunks are skipped.
// KEYS: batch, chunks, failed, ingesting index, batch gauges, active set, finished set of the new status
// ARGV: status, error, completedAt, ttl, id, error code, now ms
const HALT = `${LEAVE_ACTIVE}
local st = redis.call('HGET', KEYS[1], 'status')
if not st or st == 'completed' or st == 'failed' or st == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'error', ARGV[2], 'completedAt', ARGV[3], 'halted', '1')
if ARGV[6] and ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'errorCode', ARGV[6]) end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
redis.call('ZREM', KEYS[4], ARGV[5])
leaveActive(KEYS[5], KEYS[6], KEYS[7], st, ARGV[1], ARGV[5], tonumber(ARGV[7]), tonumber(ARGV[4]))
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

// Gives back keys claimed for a batch that was never created: each key is deleted only if it
// still names that batch (ARGV[1]) and the batch does not exist, so a key another submission
// holds, or one whose batch was created after all, is never taken away.
// KEYS: batch, idempotency keys...
const RELEASE_KEYS = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = 0
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    n = n + 1
  end
end
return n
`;

// Reopens a batch that failed with failed chunks, for the chunks in ARGV to run again: each
// one's accounting is taken back out (as if it had never run), so the batch closes again,
// by the usual rule, once they are all accounted. Returns how many chunks were reopened,
// or -1 when the batch is not a failed batch whose chunks can run again. It is in progress
// again for the gauges (its earlier failure stays counted in the `failed` total).
// KEYS: batch, chunks, failed, batch gauges, active set, finished set of 'failed', batch index
// ARGV: id, now ms, chunk indexes...
const REOPEN = `
if redis.call('HGET', KEYS[1], 'status') ~= 'failed' or redis.call('HGET', KEYS[1], 'halted') == '1' then return -1 end
local n = 0
for i = 3, #ARGV do
  local idx = ARGV[i]
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
redis.call('HINCRBY', KEYS[4], 'running', 1)
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('ZADD', KEYS[5], redis.call('ZSCORE', KEYS[7], ARGV[1]) or ARGV[2], ARGV[1])
return n
`;

interface BatchCommands {
  batchClaimKeys(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<string | null>;
  batchReleaseKeys(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<number>;
  batchRecordChunk(...keysAndArgs: (string | number)[]): Promise<number>;
  batchRecordAttempt(...keysAndArgs: (string | number)[]): Promise<number>;
  batchMarkIngested(...keysAndArgs: (string | number)[]): Promise<number>;
  batchFinish(...keysAndArgs: (string | number)[]): Promise<number>;
  batchHalt(...keysAndArgs: (string | number)[]): Promise<number>;
  batchReopen(...keysAndArgs: (string | number)[]): Promise<number>;
}

const toSignal = (n: number): CloseSignal => (n === 1 ? 'close' : n === -1 ? 'gone' : 'open');
const num = (v: string | undefined): number => (v === undefined || v === '' ? 0 : Number(v));
const nowIso = (): string => new Date().toISOString();

/** Cost arguments of the accounting scripts: allocated USD, used CPU s, allocated CPU s, wall s. */
const costArgs = (u: AttemptUsage): number[] => [u.costUsd, u.cpuSeconds, u.allocatedCpuSeconds, u.wallSeconds];
const observationArgs = (u: AttemptUsage): (string | number)[] => [u.wait.bucket, u.wait.value, u.processing.bucket, u.processing.value];

export class BatchStore {
  private readonly redis: Redis & BatchCommands;
  private readonly metrics: MetricKeys;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {
    redis.defineCommand('batchClaimKeys', { lua: CLAIM_KEYS });
    redis.defineCommand('batchReleaseKeys', { lua: RELEASE_KEYS });
    redis.defineCommand('batchRecordChunk', { numberOfKeys: 11, lua: RECORD_CHUNK });
    redis.defineCommand('batchRecordAttempt', { numberOfKeys: 8, lua: RECORD_ATTEMPT });
    redis.defineCommand('batchMarkIngested', { numberOfKeys: 3, lua: MARK_INGESTED });
    redis.defineCommand('batchFinish', { numberOfKeys: 6, lua: FINISH });
    redis.defineCommand('batchHalt', { numberOfKeys: 7, lua: HALT });
    redis.defineCommand('batchReopen', { numberOfKeys: 7, lua: REOPEN });
    this.redis = redis as Redis & BatchCommands;
    this.metrics = metricKeys(prefix);
  }

  private keys(id: string): [string, string, string] {
    const k = batchKeys(this.prefix, id);
    return [k.batch, k.chunks, k.failed];
  }

  /** Keys of the cost counters: per label, and this month's per team. */
  private costKeys(): string[] {
    const m = this.metrics;
    return [m.costUsd, m.cpuSeconds, m.allocatedCpuSeconds, teamMonthCostKey(this.prefix, costMonth())];
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

  /**
   * Releases keys {@link claimIdempotencyKeys} gave `id` when the batch could not be created
   * after all, so a retry of the submission creates it instead of finding a batch that does
   * not exist. Atomic: only keys that still name `id`, and only while no batch `id` exists.
   * Returns how many keys were released.
   */
  async releaseIdempotencyKeys(keys: readonly string[], id: string): Promise<number> {
    if (keys.length === 0) return 0;
    const redisKeys = [this.keys(id)[0], ...keys.map((k) => idempotencyKey(this.prefix, k))];
    return this.redis.batchReleaseKeys(redisKeys.length, ...redisKeys, id);
  }

  /** @param traceId - the trace the batch belongs to, shown by the status API so its logs can be found. */
  async create(id: string, request: BatchRequest, traceId?: string): Promise<void> {
    const [batchKey] = this.keys(id);
    const now = Date.now();
    const tx = this.redis.multi();
    // The last start per schedule, so a missed scheduled run can alert.
    if (request.schedule) tx.hset(this.metrics.scheduleStarts, request.schedule, now);
    // Counters of a new label combination start at 0 before its first chunk, so Prometheus'
    // increase() and rate() count that chunk too (a series born non-zero loses its first step).
    const labels = [request.labels.team ?? '', request.labels.project ?? '', request.model];
    const m = this.metrics;
    for (const key of [m.costUsd, m.cpuSeconds, m.allocatedCpuSeconds]) tx.hincrbyfloat(key, JSON.stringify(labels), 0);
    for (const outcome of ['succeeded', 'failed']) tx.hincrby(m.records, JSON.stringify([outcome, ...labels]), 0);
    await tx
      .hset(batchKey, {
        id,
        status: 'ingesting' satisfies BatchStatus,
        datasetUrl: request.datasetUrl,
        format: request.format,
        model: request.model,
        chunkSize: request.chunkSize,
        outputUrl: request.outputUrl,
        labels: JSON.stringify(request.labels),
        schema: request.schema ? JSON.stringify(request.schema) : '',
        schedule: request.schedule ?? '',
        traceId: traceId ?? '',
        createdAt: new Date(now).toISOString(),
        chunksEnqueued: 0,
        recordsRead: 0,
      })
      .zadd(batchIndexKey(this.prefix), now, id)
      // Trimmed here, where it grows: one cheap command per batch keeps it to the batches of
      // the last BATCH_TTL_SECONDS instead of every batch ever created.
      .zremrangebyscore(batchIndexKey(this.prefix), '-inf', `(${now - this.ttlSeconds * 1000}`)
      .zadd(ingestingIndexKey(this.prefix), now, id)
      .zadd(activeBatchesKey(this.prefix), now, id)
      .hincrby(this.metrics.batches, 'ingesting', 1)
      .hincrby(this.metrics.batches, 'created', 1)
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
    if (h.schema) request.schema = JSON.parse(h.schema) as BatchRequest['schema'];
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
    return toSignal(
      await this.redis.batchMarkIngested(
        batchKey,
        ingestingIndexKey(this.prefix),
        this.metrics.batches,
        chunksTotal,
        recordsTotal,
        nowIso(),
        id,
      ),
    );
  }

  /**
   * Accounts a chunk's result, its attempt's cost and timings, and the metrics the exporter
   * publishes (records by outcome, failures by reason, cost by label, histograms): one
   * script, one round trip per chunk.
   */
  async recordChunk(id: string, chunkIndex: number, r: ChunkResult): Promise<CloseSignal> {
    const m = this.metrics;
    const result = await this.redis.batchRecordChunk(
      ...this.keys(id),
      m.waitHistogram,
      m.processingHistogram,
      m.records,
      m.chunkFailures,
      ...this.costKeys(),
      chunkIndex,
      r.succeeded,
      r.failed,
      r.predictionSum,
      r.predictionCount,
      r.latencyMs,
      r.chunkFailed ? 1 : 0,
      ...costArgs(r),
      ...observationArgs(r),
      r.failureReason ?? 'error',
      MONTH_COST_TTL_SECONDS,
    );
    return toSignal(result);
  }

  /**
   * Accounts an attempt that failed and will be retried: the resources it used are part of
   * the batch's cost even though its records will be counted by a later attempt.
   */
  async recordFailedAttempt(id: string, a: FailedAttempt): Promise<void> {
    const m = this.metrics;
    await this.redis.batchRecordAttempt(
      this.keys(id)[0],
      m.waitHistogram,
      m.processingHistogram,
      m.chunkRetries,
      ...this.costKeys(),
      ...costArgs(a),
      ...observationArgs(a),
      a.reason,
      MONTH_COST_TTL_SECONDS,
    );
  }

  /** Final transition of a running batch. Returns false when another process finished it first. */
  async finish(id: string, status: 'completed' | 'failed', error?: string): Promise<boolean> {
    const keys = [...this.keys(id), this.metrics.batches, activeBatchesKey(this.prefix), finishedBatchesKey(this.prefix, status)];
    return (await this.redis.batchFinish(...keys, status, nowIso(), error ?? '', this.ttlSeconds, id, Date.now())) === 1;
  }

  /** Stops a batch that has not finished (ingest failure, cancellation); `code` is the error's stable code. */
  async halt(id: string, status: 'failed' | 'cancelled', error: string, code = ''): Promise<boolean> {
    const keys = [
      ...this.keys(id),
      ingestingIndexKey(this.prefix),
      this.metrics.batches,
      activeBatchesKey(this.prefix),
      finishedBatchesKey(this.prefix, status),
    ];
    return (await this.redis.batchHalt(...keys, status, error, nowIso(), this.ttlSeconds, id, code, Date.now())) === 1;
  }

  /**
   * The oldest batches in progress (ingesting or running), at most `limit`: one ZRANGE and
   * one pipelined read, whatever the number of batches ever run.
   */
  async listActive(limit: number): Promise<BatchView[]> {
    const ids = await this.redis.zrange(activeBatchesKey(this.prefix), 0, String(limit - 1));
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys(id)[0]);
    const results = (await pipeline.exec()) ?? [];
    return results.flatMap(([err, hash]) =>
      err || !(hash as Record<string, string>).id ? [] : [toView(hash as Record<string, string>, [])],
    );
  }

  /**
   * Takes a failed batch back to `running` for `chunkIndexes` (members of its failed set) to
   * run again; it closes again when they are accounted. Returns how many were reopened, or -1
   * when the batch is not failed, or was halted (its ingest failed, or it was cancelled).
   */
  async reopen(id: string, chunkIndexes: readonly number[]): Promise<number> {
    if (chunkIndexes.length === 0) return 0;
    const keys = [
      ...this.keys(id),
      this.metrics.batches,
      activeBatchesKey(this.prefix),
      finishedBatchesKey(this.prefix, 'failed'),
      batchIndexKey(this.prefix),
    ];
    return this.redis.batchReopen(...keys, id, Date.now(), ...chunkIndexes);
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
    return toView(
      hash,
      failed.map(Number).sort((a, b) => a - b),
    );
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
      allocatedCpuSeconds: allocated,
      wallSeconds: num(h.wallSeconds),
      usdPerRecord: processed > 0 ? usd / processed : 0,
      efficiency: allocated > 0 ? num(h.cpuSeconds) / allocated : null,
    },
    // The batch's own folder, `<outputUrl>/<batchId>`, not the root it was written under.
    output: { url: h.outputUrl ? batchFolderUrl(h.outputUrl, h.id ?? '') : '', parts: num(h.parts) },
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
