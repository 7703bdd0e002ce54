/**
 * Redis connections. Workers block on Redis and must wait out restarts, so their
 * connections retry forever (`maxRetriesPerRequest: null`, BullMQ's production advice);
 * request-path connections fail fast instead of queueing commands while Redis is down.
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';

export type ConnectionRole = 'worker' | 'request';

export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 2,
    enableOfflineQueue: role === 'worker',
    // Reconnect quickly, then every 2 s: a restarted Redis is back within seconds.
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    lazyConnect: false,
    ...extra,
  });
}

/** Resolves once the connection is ready, or rejects with the connection error. */
export async function waitForRedis(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`Redis not ready after ${timeoutMs} ms`)), timeoutMs);
    const onReady = (): void => done();
    const onError = (err: Error): void => done(err);
    function done(err?: Error): void {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      if (err) reject(err);
      else resolve();
    }
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}
