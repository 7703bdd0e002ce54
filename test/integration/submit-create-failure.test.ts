/**
 * A submission whose batch cannot be stored gives its idempotency keys back, so a retry
 * creates the batch instead of being answered with one that does not exist. Real Redis: the
 * failure is Redis refusing the batch's write (an ACL user denied ZADD, which the batch's
 * transaction needs and the key claim does not).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchService } from '../../src/producer/batch-service.js';
import { BatchCloser } from '../../src/shared/batch/batch-closer.js';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import { SplitWindow } from '../../src/shared/batch/split-window.js';
import { createChunkQueue } from '../../src/shared/events/chunk-queue.js';
import type { ChunkQueue } from '../../src/shared/events/chunk-queue.js';
import { loadConfig } from '../../src/shared/config/config.js';
import { idempotencyKey } from '../../src/shared/batch/keys.js';
import { createLogger } from '../../src/shared/observability/logger.js';
import type { BatchRequest } from '../../src/shared/types.js';
import { connect, freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

let server: LocalRedis;
let admin: Redis;
let denied: Redis;
let request: BatchRequest;
const queues: ChunkQueue[] = [];

beforeAll(async () => {
  server = await startTestRedis();
  admin = connect(server.url);
  await admin.call('ACL', 'SETUSER', 'nozadd', 'on', '>nozadd-pw', '~*', '&*', '+@all', '-zadd');
  const url = new URL(server.url);
  url.username = 'nozadd';
  url.password = 'nozadd-pw';
  denied = connect(url.toString());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-create-fail-'));
  await writeFile(path.join(dir, 'd.jsonl'), '{"id":1,"features":[1]}\n');
  request = {
    datasetUrl: pathToFileURL(path.join(dir, 'd.jsonl')).toString(),
    format: 'jsonl',
    model: 'sum',
    chunkSize: 10,
    outputUrl: pathToFileURL(path.join(dir, 'out')).toString(),
    labels: {},
    idempotencyKey: 'nightly-2026-11-23',
  };
});
afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await Promise.all([admin?.quit(), denied?.quit()]);
  await server?.stop();
});

function service(redis: Redis, prefix: string): { service: BatchService; store: BatchStore } {
  const config = { ...loadConfig({ DATASET_ALLOWED_SCHEMES: 'file' }), queuePrefix: prefix };
  const logger = createLogger({ service: 'test', level: 'silent' });
  const store = new BatchStore(redis, prefix, 3600);
  const queue = createChunkQueue(redis, { prefix, attempts: 1 });
  queues.push(queue);
  const splitWindow = new SplitWindow(redis, queue, prefix, 3600);
  return {
    service: new BatchService({ queue, splitWindow, store, closer: new BatchCloser(store, logger, config.outputUrl), config, logger }),
    store,
  };
}

describe('submitting a batch that cannot be stored', () => {
  it('releases the idempotency and dedupe keys it claimed, so the retried submission creates the batch', async () => {
    const prefix = freshPrefix('create-fail');
    const failing = service(denied, prefix).service;
    const dedupeKeys = ['ce:/apis/v1/namespaces/ml/pingsources/nightly:tick-1'];
    await expect(failing.submit(request, { dedupeKeys })).rejects.toThrow();
    for (const key of [request.idempotencyKey ?? '', ...dedupeKeys]) {
      expect(await admin.get(idempotencyKey(prefix, key)), key).toBeNull();
    }

    const working = service(admin, prefix);
    const retried = await working.service.submit(request, { dedupeKeys });
    expect(retried.created).toBe(true);
    expect(await working.store.get(retried.id)).not.toBeNull();
    // And the keys now name the batch that exists.
    const again = await working.service.submit(request, { dedupeKeys });
    expect(again).toMatchObject({ id: retried.id, created: false });
    await working.service.drain(10_000);
  });
});
