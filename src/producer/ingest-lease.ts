/**
 * Ingest leases: which producer is ingesting a batch, so that an ingest whose producer died
 * is noticed and taken over.
 *
 * The ingesting producer holds a lease on its batch, a Redis key with a TTL of
 * `INGEST_LEASE_MS` that it renews every second. A producer SIGKILLed mid-ingest (OOM, node
 * loss) stops renewing and the lease lapses. Until then, and after, the batch stays
 * `ingesting`, and only `running` batches can close, so a dead ingest is never half-counted
 * and `completed`. A live producer claims the lapsed lease and ingests again from the start
 * (see {@link IngestRecovery}): safe, because chunk job ids are deterministic and accounting
 * is per chunk, replaced on replay; the progress counters are reset by the claim. Each claim
 * counts as an attempt; past `INGEST_ATTEMPTS` the batch fails with the reason instead.
 *
 * A producer stopped by SIGTERM (Knative scaling it down, even to zero) hands its ingest back
 * by releasing the lease: a live peer (producers keep a heartbeat in a sorted set) takes it
 * within half a lease, else the next producer to start does. Only an ingest that cannot be
 * resumed (no dataset version) fails its batch instead.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { batchKeys, ingestingIndexKey, ingestLeaseKey, producersKey } from '../shared/batch/keys.js';

export type ClaimOutcome =
  /** The lease is ours; `attempt` is this ingest's number (1 for a new batch). */
  | 'claimed'
  /** Another producer holds the lease: its ingest is alive. */
  | 'held'
  /** The batch is no longer ingesting (finished, halted or gone). */
  | 'finished'
  /** The lease lapsed but the batch has used up its ingest attempts. */
  | 'exhausted';

/** Why a held lease ended before its ingest did. */
export type LeaseLoss = 'lost' | 'stopped';

// Claims a batch's lapsed (or never taken) lease; a claim starts a new ingest attempt.
const CLAIM = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'ingesting' then
  redis.call('ZREM', KEYS[3], ARGV[4])
  return {'finished', 0}
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'held', 0} end
local attempt = tonumber(redis.call('HGET', KEYS[1], 'ingestAttempts') or '0') + 1
if attempt > tonumber(ARGV[3]) then return {'exhausted', attempt - 1} end
redis.call('HSET', KEYS[1], 'ingestAttempts', attempt, 'chunksEnqueued', 0, 'recordsRead', 0)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {'claimed', attempt}
`;

// Renews our lease: 1 renewed, 0 another producer holds it, -1 the batch stopped ingesting
// (cancelled, failed, or ingest finished). A lease that lapsed during a Redis outage and was
// not claimed by anyone is simply taken again.
const RENEW = `
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'ingesting' then
  redis.call('DEL', KEYS[2])
  return -1
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

interface LeaseCommands {
  ingestClaim(k1: string, k2: string, k3: string, ...args: (string | number)[]): Promise<[ClaimOutcome, number]>;
  ingestRenew(k1: string, k2: string, ...args: (string | number)[]): Promise<number>;
  ingestRelease(k1: string, ...args: (string | number)[]): Promise<number>;
}

export interface IngestLeaseOptions {
  /** `INGEST_LEASE_MS`: how long a lease outlives its last renewal. */
  leaseMs: number;
  /** `INGEST_ATTEMPTS`: ingest starts allowed per batch. */
  maxAttempts: number;
  /** Called when renewing a lease fails (Redis unreachable); the ingest carries on. */
  onRenewError?: (err: unknown) => void;
}

/** A lease being renewed for one running ingest. */
export interface HeldLease {
  /** Stops renewing and gives the lease up (a no-op when it was lost). */
  release(): Promise<void>;
}

export class IngestLeases {
  /** This producer's identity in leases and heartbeats. */
  readonly owner = randomUUID();
  private readonly redis: Redis & LeaseCommands;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly options: IngestLeaseOptions,
  ) {
    redis.defineCommand('ingestClaim', { numberOfKeys: 3, lua: CLAIM });
    redis.defineCommand('ingestRenew', { numberOfKeys: 2, lua: RENEW });
    redis.defineCommand('ingestRelease', { numberOfKeys: 1, lua: RELEASE });
    this.redis = redis as Redis & LeaseCommands;
  }

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  /** Claims the ingest of `batchId` when nobody holds it; a claim is a new attempt. */
  async claim(batchId: string): Promise<{ outcome: ClaimOutcome; attempt: number }> {
    const [outcome, attempt] = await this.redis.ingestClaim(
      batchKeys(this.prefix, batchId).batch,
      ingestLeaseKey(this.prefix, batchId),
      ingestingIndexKey(this.prefix),
      this.owner,
      this.options.leaseMs,
      this.options.maxAttempts,
      batchId,
    );
    return { outcome, attempt: Number(attempt) };
  }

  /**
   * Renews the claimed lease on `batchId` until released. `onLoss` is called once if another
   * producer took it over (`lost`) or the batch stopped ingesting (`stopped`: cancelled).
   */
  hold(batchId: string, onLoss: (loss: LeaseLoss) => void): HeldLease {
    const batchKey = batchKeys(this.prefix, batchId).batch;
    const leaseKey = ingestLeaseKey(this.prefix, batchId);
    // Renewing every second (not every third of the lease) also notices a cancellation fast.
    const everyMs = Math.max(50, Math.min(1000, Math.floor(this.options.leaseMs / 3)));
    let stopped = false;
    let inFlight: Promise<void> = Promise.resolve();
    const renew = async (): Promise<void> => {
      try {
        const result = await this.redis.ingestRenew(batchKey, leaseKey, this.owner, this.options.leaseMs);
        if (result !== 1 && !stopped) {
          stopped = true;
          clearInterval(timer);
          onLoss(result === 0 ? 'lost' : 'stopped');
        }
      } catch (err) {
        this.options.onRenewError?.(err);
      }
    };
    const timer = setInterval(() => {
      inFlight = renew();
    }, everyMs);
    timer.unref();
    return {
      release: async () => {
        stopped = true;
        clearInterval(timer);
        await inFlight;
        await this.redis.ingestRelease(leaseKey, this.owner);
      },
    };
  }

  /** Records that this producer is alive (and forgets producers silent for long). */
  async heartbeat(): Promise<void> {
    const now = Date.now();
    await this.redis
      .multi()
      .zadd(producersKey(this.prefix), now, this.owner)
      .zremrangebyscore(producersKey(this.prefix), '-inf', now - 10 * this.options.leaseMs)
      .exec();
  }

  /** Leaves the set of live producers (shutting down): peers stop counting on this one. */
  async leave(): Promise<void> {
    await this.redis.zrem(producersKey(this.prefix), this.owner);
  }

  /** Other producers that sent a heartbeat within one lease: who can take an ingest over. */
  async livePeers(): Promise<number> {
    const since = Date.now() - this.options.leaseMs;
    const alive = await this.redis.zrangebyscore(producersKey(this.prefix), since, '+inf');
    return alive.filter((id) => id !== this.owner).length;
  }
}
