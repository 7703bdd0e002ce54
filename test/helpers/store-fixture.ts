/**
 * A BatchStore on a private redis-server for the tests of one file: the server for the file,
 * a fresh queue prefix (and store) per test. Call at the top level of the test file.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { Redis } from 'ioredis';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import type { BatchRequest } from '../../src/shared/types.js';
import { connect, freshPrefix, startTestRedis } from './redis.js';
import type { LocalRedis } from './redis.js';

/** A plain request for store tests: a local JSONL dataset, the `sum` model, team `risk`. */
export const STORE_TEST_REQUEST: BatchRequest = {
  datasetUrl: 'file:///d.jsonl',
  format: 'jsonl',
  model: 'sum',
  chunkSize: 10,
  outputUrl: 'file:///tmp/o',
  labels: { team: 'risk' },
};

export interface StoreFixture {
  readonly redis: Redis;
  readonly store: BatchStore;
  readonly prefix: string;
}

export function useBatchStore(name: string, ttlSeconds = 3600): StoreFixture {
  let server: LocalRedis | undefined;
  let redis: Redis | undefined;
  let store: BatchStore | undefined;
  let prefix = '';
  beforeAll(async () => {
    server = await startTestRedis();
    redis = connect(server.url);
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });
  beforeEach(() => {
    prefix = freshPrefix(name);
    store = new BatchStore(redis as Redis, prefix, ttlSeconds);
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useBatchStore: read inside a test, not at collection time');
    return value;
  };
  return {
    get redis() {
      return ready(redis);
    },
    get store() {
      return ready(store);
    },
    get prefix() {
      return prefix;
    },
  };
}
