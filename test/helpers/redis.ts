/** A private redis-server per test file (never the machine's shared instance). */
import { Redis } from 'ioredis';
import { startLocalRedis } from '../../src/cli/local-redis.js';
import type { LocalRedis, LocalRedisOptions } from '../../src/cli/local-redis.js';

export type { LocalRedis } from '../../src/cli/local-redis.js';

export async function startTestRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  return startLocalRedis(options);
}

/** A fresh key prefix per test, hash-tagged like production's. */
export function freshPrefix(name = 'test'): string {
  return `{bi-${name}-${Math.random().toString(36).slice(2, 8)}}`;
}

export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}
