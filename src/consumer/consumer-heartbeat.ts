/**
 * A consumer announces itself in Redis while it runs, so the exporter can publish how many
 * consumers are alive (they scale to zero and are never scraped). One ZADD every
 * {@link CONSUMER_HEARTBEAT_MS}; old entries of consumers that died are trimmed by the others.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CONSUMER_ALIVE_MS, CONSUMER_HEARTBEAT_MS, consumersKey } from '../shared/batch/keys.js';

export class ConsumerHeartbeat {
  readonly id = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private timer: NodeJS.Timeout | undefined;
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.key = consumersKey(prefix);
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), CONSUMER_HEARTBEAT_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.zrem(this.key, this.id).catch((err: unknown) => this.logger.warn({ err }, 'could not remove the consumer heartbeat'));
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    try {
      await this.redis
        .multi()
        .zadd(this.key, now, this.id)
        .zremrangebyscore(this.key, '-inf', `(${now - 2 * CONSUMER_ALIVE_MS}`)
        .exec();
    } catch (err) {
      this.logger.warn({ err }, 'consumer heartbeat failed');
    }
  }
}
