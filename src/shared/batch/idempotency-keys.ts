/**
 * Idempotency keys: a client's key, a CloudEvent's source + id, a schedule tick. Each names
 * the batch it created, under the queue prefix, for the batch TTL; a duplicate submission
 * finds that batch instead of creating another.
 */
import type { Redis } from 'ioredis';
import { batchKeys, idempotencyKey } from './keys.js';
import { defineScript } from './lua-script.js';
import type { LuaScript } from './lua-script.js';

/** The idempotency keys to claim follow the named keys. */
const CLAIM_KEYS = { file: 'claim-keys', keys: [], args: ['id', 'ttl'] } as const;
/** The idempotency keys to release follow the batch key. */
const RELEASE_KEYS = { file: 'release-keys', keys: ['batch'], args: ['id'] } as const;

export class IdempotencyKeys {
  private readonly claimScript: LuaScript<never, 'id' | 'ttl', string | null>;
  private readonly releaseScript: LuaScript<'batch', 'id', number>;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {
    this.claimScript = defineScript(redis, CLAIM_KEYS);
    this.releaseScript = defineScript(redis, RELEASE_KEYS);
  }

  private redisKeys(keys: readonly string[]): string[] {
    return keys.map((k) => idempotencyKey(this.prefix, k));
  }

  /**
   * Reserves several keys for `id` atomically: returns the id of the batch that already
   * holds any of them, or undefined when `id` got them all.
   */
  async claim(keys: readonly string[], id: string): Promise<string | undefined> {
    if (keys.length === 0) return undefined;
    const existing = await this.claimScript({ keys: {}, args: { id, ttl: this.ttlSeconds }, moreKeys: this.redisKeys(keys) });
    return existing ?? undefined;
  }

  /**
   * Releases keys {@link claim} gave `id` when the batch could not be created after all, so
   * a retry of the submission creates it instead of finding a batch that does not exist.
   * Atomic: only keys that still name `id`, and only while no batch `id` exists. Returns
   * how many keys were released.
   */
  async release(keys: readonly string[], id: string): Promise<number> {
    if (keys.length === 0) return 0;
    return this.releaseScript({ keys: { batch: batchKeys(this.prefix, id).batch }, args: { id }, moreKeys: this.redisKeys(keys) });
  }
}
