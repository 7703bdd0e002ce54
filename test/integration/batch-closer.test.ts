/**
 * Closing races: the last chunk's consumer, a replayed chunk and the producer can all try to
 * close a batch at once. Only the one whose `finish` wins runs the closed hooks, so
 * `batch.completed` is sent once per batch.
 */
import { mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchCloser } from '../../src/shared/batch/batch-closer.js';
import type { BatchEnding } from '../../src/shared/batch/batch-closer.js';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import type { ChunkResult } from '../../src/shared/batch/batch-store.js';
import { connect, freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';
import { chunkResult } from '../helpers/chunk-result.js';

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

const result = (succeeded: number): ChunkResult => chunkResult(succeeded, 0, { predictionSum: succeeded });

describe('BatchCloser', () => {
  it('runs its hooks exactly once when several processes close the same batch at once', async () => {
    const prefix = freshPrefix('close');
    const outputUrl = pathToFileURL(await mkdtemp(path.join(os.tmpdir(), 'bi-close-'))).toString();
    // Five "processes": each its own Redis connection, store and closer.
    const closers = Array.from({ length: 5 }, () => {
      const conn = connect(redis.url);
      connections.push(conn);
      return new BatchCloser(new BatchStore(conn, prefix, 3600), logger, outputUrl);
    });
    const store = new BatchStore(connections[0] as Redis, prefix, 3600);
    const request = { datasetUrl: 'file:///d.jsonl', format: 'jsonl' as const, model: 'sum', chunkSize: 2, outputUrl, labels: {} };
    await store.create('b1', request);
    await store.markIngested('b1', 2, 4);
    await store.recordChunk('b1', 0, result(2));
    expect(await store.recordChunk('b1', 1, result(2))).toBe('close');

    const hooked: BatchEnding[] = [];
    for (const closer of closers) closer.onEnded((ending) => Promise.resolve(void hooked.push(ending)));
    const manifests = await Promise.all(closers.map((c) => c.close('b1')));

    expect(manifests.filter((m) => m !== undefined)).toHaveLength(1);
    expect(hooked).toHaveLength(1);
    expect(hooked[0]).toMatchObject({ kind: 'closed', manifest: { batchId: 'b1', status: 'completed', total_records: 4 } });
    expect((await store.get('b1'))?.status).toBe('completed');
    // A late closer (a replayed last chunk) finds the batch closed and sends nothing.
    expect(await closers[0]?.close('b1')).toBeUndefined();
    expect(hooked).toHaveLength(1);
  });

  it('runs its hooks exactly once when several processes halt the same batch at once, and not for a closed batch', async () => {
    const prefix = freshPrefix('halt');
    const outputUrl = pathToFileURL(await mkdtemp(path.join(os.tmpdir(), 'bi-halt-'))).toString();
    const closers = Array.from({ length: 5 }, () => {
      const conn = connect(redis.url);
      connections.push(conn);
      return new BatchCloser(new BatchStore(conn, prefix, 3600), logger, outputUrl);
    });
    const store = new BatchStore(connections.at(-1) as Redis, prefix, 3600);
    await store.create('b2', { datasetUrl: 'file:///d.jsonl', format: 'jsonl', model: 'sum', chunkSize: 2, outputUrl, labels: {} });
    await store.recordChunk('b2', 0, result(2));

    const hooked: BatchEnding[] = [];
    for (const closer of closers) closer.onEnded((ending) => Promise.resolve(void hooked.push(ending)));
    // An ingest failure and a cancellation racing, from several producers.
    const won = await Promise.all(
      closers.map((c, i) => (i % 2 ? c.halt('b2', 'cancelled', 'cancelled by request') : c.halt('b2', 'failed', 'ingest failed: x', 'X'))),
    );
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(hooked).toHaveLength(1);
    const ending = hooked[0];
    if (ending?.kind !== 'halted') throw new Error('expected a halted ending');
    expect(ending.view.status).toBe((await store.get('b2'))?.status);
    expect(ending.view.records).toMatchObject({ succeeded: 2, failed: 0 });
    expect(ending.summary.total_records).toBe(2);

    // A batch that closed cannot be halted, and its end is not announced twice.
    await store.create('b3', { datasetUrl: 'file:///d.jsonl', format: 'jsonl', model: 'sum', chunkSize: 2, outputUrl, labels: {} });
    await store.markIngested('b3', 1, 2);
    await store.recordChunk('b3', 0, result(2));
    expect(await closers[0]?.close('b3')).toBeDefined();
    expect(await closers[1]?.halt('b3', 'cancelled', 'too late')).toBe(false);
    expect(hooked.map((e) => e.kind)).toEqual(['halted', 'closed']);
  });

  it('writes the manifest only below its own OUTPUT_URL, whatever the stored batch says', async () => {
    const prefix = freshPrefix('root');
    const base = await mkdtemp(path.join(os.tmpdir(), 'bi-root-'));
    const root = pathToFileURL(path.join(base, 'mine')).toString();
    const elsewhere = pathToFileURL(path.join(base, 'theirs')).toString();
    const conn = connect(redis.url);
    connections.push(conn);
    const store = new BatchStore(conn, prefix, 3600);
    const closer = new BatchCloser(store, logger, root);
    // Anyone who can write to Redis could store such a batch; the producer never would.
    await store.create('b4', {
      datasetUrl: 'file:///d.jsonl',
      format: 'jsonl',
      model: 'sum',
      chunkSize: 2,
      outputUrl: elsewhere,
      labels: {},
    });
    await store.markIngested('b4', 1, 2);
    await store.recordChunk('b4', 0, result(2));
    await expect(closer.close('b4')).rejects.toMatchObject({ code: 'OUTPUT_REFUSED' });
    await expect(stat(path.join(base, 'theirs', 'b4', 'manifest.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await store.get('b4'))?.status).toBe('running');
  });
});
