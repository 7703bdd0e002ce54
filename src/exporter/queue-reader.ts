/**
 * Reads the chunk queue's state: job counts by state (through BullMQ's own
 * `Queue.exportPrometheusMetrics`), the autoscaling depth, and the age of the oldest waiting
 * chunk. BullMQ's text is republished too, except its `bullmq_job_count` family: promtool's
 * lint rejects a `_count` suffix on a gauge (it is reserved for histograms), and the same
 * counts are published as `batchinfer_queue_jobs{queue,state}`. Every read is O(1): one script for the
 * counts (LLEN/ZCARD per state), two for BullMQ's completed/failed totals (bounded by the
 * consumers' `maxDataPoints`), one for the oldest waiting chunk.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CHUNK_QUEUE, JOB_READY_FIELD } from '../shared/batch/keys.js';

/** States whose chunks a consumer has or will have to work on: THE autoscaling depth. */
export const DEPTH_STATES = ['waiting', 'prioritized', 'active'] as const;

export interface QueueState {
  name: string;
  /** Jobs by BullMQ state (`waiting`, `prioritized`, `active`, `delayed`, `failed`, ...). */
  counts: Record<string, number>;
  /** waiting + prioritized + active. */
  depth: number;
  /** Seconds the chunk at the head of the wait list has waited in its current attempt (0 if none). */
  oldestWaitingAgeSeconds: number;
  /** BullMQ's own exposition text (`bullmq_job_completed_total`, `bullmq_job_failed_total`). */
  bullmqText: string;
}

/** The BullMQ text could not be read: better no answer than a depth of 0 that scales consumers away. */
export class QueueCountsError extends Error {
  readonly code = 'QUEUE_COUNTS_UNREADABLE';
}

const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Job counts by state from `exportPrometheusMetrics` text; throws when a depth state is missing. */
export function parseBullmqJobCounts(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^bullmq_job_count\{([^}]*)\}\s+(\S+)\s*$/.exec(line);
    if (!match) continue;
    const state = [...(match[1] ?? '').matchAll(LABEL)].find((m) => m[1] === 'state')?.[2];
    const value = Number(match[2]);
    if (state !== undefined && Number.isFinite(value)) counts[state] = value;
  }
  for (const state of DEPTH_STATES) {
    if (counts[state] === undefined) throw new QueueCountsError(`BullMQ metrics lack the '${state}' count`);
  }
  return counts;
}

/** The text without one metric family (its HELP, TYPE and samples). */
export function withoutFamily(text: string, family: string): string {
  return text
    .split('\n')
    .filter((line) => {
      const name = line.startsWith('# ') ? line.split(' ')[2] : /^[a-zA-Z_:][\w:]*/.exec(line)?.[0];
      return name !== family;
    })
    .join('\n');
}

/**
 * The oldest of the last three entries of the wait list (the next to be taken; BullMQ
 * pushes new chunks on the left). Its wait is counted from when its current attempt became
 * runnable, the same rule consumers use: creation for a first attempt, the consumer's ready
 * mark for a retry. An entry whose ready time is unknown (taken back after a stall) is
 * skipped. Job keys are built inside the script, as BullMQ's own scripts do; the prefix's
 * hash tag keeps them in the list's slot.
 */
const OLDEST_WAITING = `
local ids = redis.call('LRANGE', KEYS[1], -3, -1)
local oldest = nil
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'timestamp', 'delay', 'ats', ARGV[3])
  local ready = nil
  local ats = tonumber(f[3] or '0') or 0
  if ats == 0 then
    if f[1] then ready = tonumber(f[1]) + (tonumber(f[2] or '0') or 0) end
  elseif f[4] then
    local n, t = string.match(f[4], '^(%d+):(%d+)$')
    if n and tonumber(n) == ats + 1 then ready = tonumber(t) end
  end
  if ready and (oldest == nil or ready < oldest) then oldest = ready end
end
if oldest == nil then return -1 end
return math.max(0, tonumber(ARGV[2]) - oldest)
`;

interface OldestWaitingCommand {
  queueOldestWaiting(waitKey: string, jobKeyPrefix: string, nowMs: number, readyField: string): Promise<number>;
}

export class QueueReader {
  private readonly queue: Queue;
  private readonly redis: Redis & OldestWaitingCommand;
  private readonly base: string;

  constructor(redis: Redis, prefix: string, onError: (err: Error) => void) {
    this.queue = new Queue(CHUNK_QUEUE, { connection: redis, prefix });
    this.queue.on('error', onError);
    redis.defineCommand('queueOldestWaiting', { numberOfKeys: 1, lua: OLDEST_WAITING });
    this.redis = redis as Redis & OldestWaitingCommand;
    this.base = `${prefix}:${CHUNK_QUEUE}:`;
  }

  async read(nowMs: number): Promise<QueueState> {
    const [bullmqText, oldestMs] = await Promise.all([
      this.queue.exportPrometheusMetrics(),
      this.redis.queueOldestWaiting(`${this.base}wait`, this.base, nowMs, JOB_READY_FIELD),
    ]);
    const counts = parseBullmqJobCounts(bullmqText);
    const depth = DEPTH_STATES.reduce((total, state) => total + (counts[state] ?? 0), 0);
    const waiting = counts.waiting ?? 0;
    return {
      name: CHUNK_QUEUE,
      counts,
      depth,
      oldestWaitingAgeSeconds: waiting > 0 && oldestMs >= 0 ? oldestMs / 1000 : 0,
      bullmqText: withoutFamily(bullmqText, 'bullmq_job_count'),
    };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
