/**
 * Closing races: the last chunk's consumer, a replayed chunk and the producer can all try to
 * close a batch at once. Only the one whose `finish` wins runs the closed hooks, so
 * `batch.completed` is sent once per batch.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchCloser } from '../../src/shared/batch-closer.js';
import type { Manifest } from '../../src/shared/batch-closer.js';
import { BatchStore } from '../../src/shared/batch-store.js';
import type { ChunkResult } from '../../src/shared/batch-store.js';
import { NO_OBSERVATION } from '../../src/shared/histogram-buckets.js';
import { connect, freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

const logger = pino({ level: 'silent' });
let redis: LocalRedis;
const connections: Redis[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
  await redis?.stop();
});

const result = (succeeded: number): ChunkResult => ({
  succeeded,
  failed: 0,
  predictionSum: succeeded,
  predictionCount: succeeded,
  latencyMs: 1,
  chunkFailed: false,
  costUsd: 0.001,
  cpuSeconds: 0.01,
  allocatedCpuSeconds: 0.02,
  wallSeconds: 0.04,
  wait: NO_OBSERVATION,
  processing: NO_OBSERVATION,
});

describe('BatchCloser', () => {
  it('runs its hooks exactly once when several processes close the same batch at once', async () => {
    const prefix = freshPrefix('close');
    const outputUrl = pathToFileURL(await mkdtemp(path.join(os.tmpdir(), 'bi-close-'))).toString();
    // Five "processes": each its own Redis connection, store and closer.
    const closers = Array.from({ length: 5 }, () => {
      const conn = connect(redis.url);
      connections.push(conn);
      return new BatchCloser(new BatchStore(conn, prefix, 3600), logger);
    });
    const store = new BatchStore(connections[0] as Redis, prefix, 3600);
    const request = { datasetUrl: 'file:///d.jsonl', format: 'jsonl' as const, model: 'sum', chunkSize: 2, outputUrl, labels: {} };
    await store.create('b1', request);
    await store.markIngested('b1', 2, 4);
    await store.recordChunk('b1', 0, result(2));
    expect(await store.recordChunk('b1', 1, result(2))).toBe('close');

    const hooked: Manifest[] = [];
    for (const closer of closers) closer.onClosed((m) => Promise.resolve(void hooked.push(m)));
    const manifests = await Promise.all(closers.map((c) => c.close('b1')));

    expect(manifests.filter((m) => m !== undefined)).toHaveLength(1);
    expect(hooked).toHaveLength(1);
    expect(hooked[0]).toMatchObject({ batchId: 'b1', status: 'completed', total_records: 4 });
    expect((await store.get('b1'))?.status).toBe('completed');
    // A late closer (a replayed last chunk) finds the batch closed and sends nothing.
    expect(await closers[0]?.close('b1')).toBeUndefined();
    expect(hooked).toHaveLength(1);
  });
});
