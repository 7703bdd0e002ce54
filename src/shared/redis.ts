/**
 * Redis connections. Workers block on Redis and must wait out restarts, so their
 * connections retry forever (`maxRetriesPerRequest: null`, BullMQ's production advice);
 * request-path connections fail fast instead of queueing commands while Redis is down.
 * Password and TLS come from the URL (`redis://:pass@host`, `rediss://`); a private CA from
 * `REDIS_TLS_CA_FILE`.
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Config } from './config/config.js';

export type ConnectionRole = 'worker' | 'request';

/** Where Redis is and how to trust it: a URL, plus the CA for `rediss://` to a private CA. */
export interface RedisEndpoint {
  url: string;
  /** PEM CA certificate(s) the server's certificate must chain to. */
  tlsCa?: string | undefined;
}

/** The endpoint a service's configuration names (`REDIS_URL`, `REDIS_TLS_CA_FILE`). */
export function redisEndpoint(config: Pick<Config, 'redisUrl' | 'redisTlsCa'>, url = config.redisUrl): RedisEndpoint {
  if (!url) throw new Error('REDIS_URL is not set');
  return { url, tlsCa: config.redisTlsCa };
}

/** TLS options for a `rediss://` endpoint: the private CA when one is given; verification stays on. */
function tlsOptions(endpoint: RedisEndpoint): RedisOptions {
  if (!endpoint.url.toLowerCase().startsWith('rediss:') || !endpoint.tlsCa) return {};
  return { tls: { ca: endpoint.tlsCa } };
}

export function createRedis(endpoint: string | RedisEndpoint, role: ConnectionRole, extra: RedisOptions = {}): Redis {
  const target = typeof endpoint === 'string' ? { url: endpoint } : endpoint;
  return new Redis(target.url, {
    maxRetriesPerRequest: role === 'worker' ? null : 2,
    enableOfflineQueue: role === 'worker',
    // Reconnect quickly, then every 2 s: a restarted Redis is back within seconds.
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    lazyConnect: false,
    ...tlsOptions(target),
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
