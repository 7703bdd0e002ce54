/** Batch accounting against a real Redis: replays never double-count, a batch closes once. */
import { describe, expect, it } from 'vitest';
import { activeBatchesKey, batchIndexKey, finishedBatchesKey, idempotencyKey, metricKeys } from '../../src/shared/batch/keys.js';
import { chunkResult } from '../helpers/chunk-result.js';
import { STORE_TEST_REQUEST as request, useBatchStore } from '../helpers/store-fixture.js';

const t = useBatchStore('store');

describe('BatchStore', () => {
  it('closes only after ingest has finished and every chunk is accounted', async () => {
    await t.store.create('b1', request);
    expect(await t.store.recordChunk('b1', 0, chunkResult(10, 0))).toBe('open');
    expect(await t.store.markIngested('b1', 2, 19)).toBe('open');
    expect(await t.store.recordChunk('b1', 1, chunkResult(8, 1))).toBe('close');
    const view = await t.store.get('b1');
    expect(view?.status).toBe('running');
    expect(view?.records).toEqual({ total: 19, read: 0, succeeded: 18, failed: 1 });
  });

  it("gives a streamed chunk its batch's fields (format, schema, model, output, CSV header), none for a batch gone", async () => {
    await t.store.create('bctx', { ...request, format: 'csv', schema: { features: ['a', 'b'], idField: 'key' } });
    await t.store.setHeader('bctx', ['key', 'a', 'b']);
    expect(await t.store.getChunkContext('bctx')).toEqual({
      format: 'csv',
      model: request.model,
      outputUrl: request.outputUrl,
      schema: { features: ['a', 'b'], idField: 'key' },
      header: ['key', 'a', 'b'],
    });
    expect(await t.store.getChunkContext('no-such-batch')).toBeNull();
  });

  it('lets the producer close when ingest finishes after the last chunk', async () => {
    await t.store.create('b2', request);
    expect(await t.store.recordChunk('b2', 0, chunkResult(5, 0))).toBe('open');
    expect(await t.store.markIngested('b2', 1, 5)).toBe('close');
  });

  it('counts a replayed chunk once but adds the cost of every attempt', async () => {
    await t.store.create('b3', request);
    await t.store.recordChunk('b3', 0, chunkResult(10, 0));
    await t.store.recordChunk('b3', 0, chunkResult(10, 0));
    const view = await t.store.get('b3');
    expect(view?.records.succeeded).toBe(10);
    expect(view?.chunks.completed).toBe(1);
    expect(view?.cost.usd).toBeCloseTo(0.002, 12);
    expect(view?.cost.efficiency).toBeCloseTo(0.5, 12);
  });

  it('books an attempt once when its script runs twice (ioredis resends it after a Redis crash cut the reply off)', async () => {
    await t.store.create('b3r', request);
    const attempt = chunkResult(10, 0, { attemptId: 'job-0:attempt-1' });
    const failed = { ...chunkResult(0, 0, { attemptId: 'job-1:attempt-1' }), reason: 'error' };
    await t.store.recordFailedAttempt('b3r', failed);
    await t.store.recordFailedAttempt('b3r', failed);
    expect(await t.store.recordChunk('b3r', 0, attempt)).toBe('open');
    expect(await t.store.recordChunk('b3r', 0, attempt)).toBe('open');
    const view = await t.store.get('b3r');
    expect(view?.records.succeeded).toBe(10);
    expect(view?.cost.usd).toBeCloseTo(0.002, 12);
    expect(await t.redis.hgetall(metricKeys(t.prefix).chunkRetries)).toEqual({ error: '1' });
  });

  it('replaces a failed chunk by its successful retry', async () => {
    await t.store.create('b4', request);
    await t.store.recordChunk('b4', 3, chunkResult(0, 10, { chunkFailed: true, predictionCount: 0, predictionSum: 0 }));
    expect((await t.store.get('b4'))?.failedChunks).toEqual([3]);
    await t.store.recordChunk('b4', 3, chunkResult(10, 0));
    const view = await t.store.get('b4');
    expect(view?.failedChunks).toEqual([]);
    expect(view?.chunks).toMatchObject({ completed: 1, failed: 0 });
    expect(view?.records).toMatchObject({ succeeded: 10, failed: 0 });
    expect(await t.store.getSummaryInputs('b4')).toEqual({ predictionSum: 20, predictionCount: 10, latencyMs: 1 });
  });

  it('finishes a batch once, however many closers race', async () => {
    await t.store.create('b5', request);
    await t.store.markIngested('b5', 0, 0);
    const wins = await Promise.all([1, 2, 3, 4].map(() => t.store.finish('b5', 'completed')));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect((await t.store.get('b5'))?.status).toBe('completed');
  });

  it('halts an unfinished batch, and a halted batch cannot be closed', async () => {
    await t.store.create('b6', request);
    expect(await t.store.halt('b6', 'failed', 'ingest failed: boom')).toBe(true);
    expect(await t.store.markIngested('b6', 1, 1)).toBe('gone');
    expect(await t.store.finish('b6', 'completed')).toBe(false);
    expect(await t.store.getState('b6')).toMatchObject({ status: 'failed', halted: true });
    expect((await t.store.get('b6'))?.error).toEqual({ code: 'BATCH_FAILED', message: 'ingest failed: boom' });
  });

  it('reopens a failed batch for its failed chunks only; it closes again when they are accounted', async () => {
    await t.store.create('b7', request);
    await t.store.recordChunk('b7', 0, chunkResult(10, 0));
    await t.store.recordChunk('b7', 1, chunkResult(0, 10, { chunkFailed: true, predictionCount: 0, predictionSum: 0 }));
    await t.store.recordChunk('b7', 2, chunkResult(0, 10, { chunkFailed: true, predictionCount: 0, predictionSum: 0 }));
    expect(await t.store.markIngested('b7', 3, 30)).toBe('close');
    expect(await t.store.finish('b7', 'failed', '2 chunk(s) failed')).toBe(true);

    expect(await t.store.reopen('b7', [1, 2, 0])).toBe(2); // chunk 0 did not fail: left alone
    const reopened = await t.store.get('b7');
    expect(reopened).toMatchObject({ status: 'running', failedChunks: [], completedAt: null });
    expect(reopened?.error).toBeUndefined();
    expect(reopened?.chunks).toMatchObject({ total: 3, completed: 1, failed: 0 });
    expect(reopened?.records).toMatchObject({ succeeded: 10, failed: 0 });
    expect(await t.redis.ttl(`${t.prefix}:batch:b7`), 'a reopened batch does not expire').toBe(-1);

    expect(await t.store.recordChunk('b7', 1, chunkResult(10, 0))).toBe('open');
    expect(await t.store.recordChunk('b7', 2, chunkResult(0, 10, { chunkFailed: true, predictionCount: 0, predictionSum: 0 }))).toBe(
      'close',
    );
    expect((await t.store.get('b7'))?.records).toMatchObject({ total: 30, succeeded: 20, failed: 10 });
    expect(await t.store.getSummaryInputs('b7')).toMatchObject({ predictionSum: 40, predictionCount: 20 });
  });

  it('reopens only failed batches that were not halted', async () => {
    await t.store.create('b8', request);
    await t.store.markIngested('b8', 1, 1);
    expect(await t.store.reopen('b8', [0])).toBe(-1); // running
    await t.store.halt('b8', 'failed', 'ingest failed');
    expect(await t.store.reopen('b8', [0])).toBe(-1); // halted
  });

  it('keeps an index of ingesting batches that ingest end and halts leave', async () => {
    await t.store.create('b9', request);
    await t.store.create('b10', request);
    await t.store.create('b11', request);
    expect(await t.store.listIngesting()).toEqual(expect.arrayContaining(['b9', 'b10', 'b11']));
    await t.store.markIngested('b9', 1, 1);
    await t.store.halt('b10', 'cancelled', 'cancelled by request');
    expect(await t.store.listIngesting()).toEqual(['b11']);
  });

  it('hands out an idempotency key once', async () => {
    expect(await t.store.claimIdempotencyKey('k', 'first')).toBeUndefined();
    expect(await t.store.claimIdempotencyKey('k', 'second')).toBe('first');
  });

  it('claims several keys as one: any held key returns its batch and points the others at it', async () => {
    expect(await t.store.claimIdempotencyKeys(['ce/s/1', 'tick/s/02:00'], 'first')).toBeUndefined();
    // Same tick, another event id: the tick key matches, and the new id key now names 'first'.
    expect(await t.store.claimIdempotencyKeys(['ce/s/2', 'tick/s/02:00'], 'second')).toBe('first');
    expect(await t.store.claimIdempotencyKeys(['ce/s/2'], 'third')).toBe('first');
    // Racing duplicates: exactly one wins.
    const racers = await Promise.all(['a', 'b', 'c', 'd'].map((id) => t.store.claimIdempotencyKeys(['ce/s/9', 'tick/s/03:00'], id)));
    expect(racers.filter((r) => r === undefined)).toHaveLength(1);
    expect(new Set(racers.filter((r) => r !== undefined)).size).toBe(1);
  });

  it('releases only the keys that still name a batch that was never created', async () => {
    expect(await t.store.claimIdempotencyKeys(['mine', 'shared'], 'lost')).toBeUndefined();
    // Meanwhile another submission's key expired and was claimed again by it.
    await t.redis.set(idempotencyKey(t.prefix, 'shared'), 'other');
    expect(await t.store.releaseIdempotencyKeys(['mine', 'shared'], 'lost')).toBe(1);
    expect(await t.store.claimIdempotencyKey('mine', 'retry')).toBeUndefined();
    expect(await t.store.claimIdempotencyKey('shared', 'retry')).toBe('other');
    // A batch that does exist keeps its keys.
    await t.store.create('retry', request);
    expect(await t.store.releaseIdempotencyKeys(['mine'], 'retry')).toBe(0);
    expect(await t.store.claimIdempotencyKey('mine', 'late')).toBe('retry');
  });

  it('keeps the batch index to the batches created within the TTL', async () => {
    const index = batchIndexKey(t.prefix);
    const now = Date.now();
    // Batches created long ago, and one still within the TTL (3600 s here).
    await t.redis.zadd(
      index,
      String(now - 30 * 86_400_000),
      'ancient',
      String(now - 3601_000),
      'expired',
      String(now - 3500_000),
      'recent',
    );
    await t.store.create('new', request);
    expect(await t.redis.zrange(index, '0', '-1')).toEqual(['recent', 'new']);
  });

  it('moves the batch gauges and the active set at every transition, without scanning batches', async () => {
    const gauges = async (): Promise<Record<string, string>> => t.redis.hgetall(metricKeys(t.prefix).batches);
    await t.store.create('g1', request);
    await t.store.create('g2', { ...request, labels: { team: 'fraud' } });
    expect(await gauges()).toEqual({ ingesting: '2', created: '2' });
    await t.store.markIngested('g1', 1, 10);
    expect(await gauges()).toMatchObject({ ingesting: '1', running: '1' });
    expect((await t.store.listActive(10)).map((v) => v.id)).toEqual(['g1', 'g2']);

    await t.store.recordChunk('g1', 0, chunkResult(10, 0));
    expect(await t.store.finish('g1', 'completed')).toBe(true);
    expect(await t.store.finish('g1', 'completed')).toBe(false);
    expect(await t.store.halt('g2', 'cancelled', 'user asked')).toBe(true);
    expect(await gauges()).toEqual({ ingesting: '0', running: '0', created: '2', completed: '1', cancelled: '1' });
    expect(await t.redis.zcard(activeBatchesKey(t.prefix))).toBe(0);
    expect(await t.store.listActive(10)).toEqual([]);
    expect(await t.redis.zrange(finishedBatchesKey(t.prefix, 'completed'), '0', '-1')).toEqual(['g1']);
    expect(await t.redis.zrange(finishedBatchesKey(t.prefix, 'cancelled'), '0', '-1')).toEqual(['g2']);
  });

  it('records the last start of a schedule when a scheduled batch is created', async () => {
    const before = Date.now();
    await t.store.create('s1', { ...request, schedule: 'nightly' });
    await t.store.create('s2', request);
    const starts = await t.redis.hgetall(metricKeys(t.prefix).scheduleStarts);
    expect(Object.keys(starts)).toEqual(['nightly']);
    expect(Number(starts.nightly)).toBeGreaterThanOrEqual(before);
  });

  it('attributes cost and records to the batch labels and books a failed attempt', async () => {
    await t.store.create('c1', { ...request, labels: { team: 'risk', project: 'churn' } });
    await t.store.recordFailedAttempt('c1', { ...chunkResult(0, 0), reason: 'system_enospc' });
    await t.store.recordChunk('c1', 0, chunkResult(9, 1));
    const keys = metricKeys(t.prefix);
    const tuple = JSON.stringify(['risk', 'churn', 'sum']);
    expect(Number(await t.redis.hget(keys.costUsd, tuple))).toBeCloseTo(0.002, 12);
    expect(Number(await t.redis.hget(keys.cpuSeconds, tuple))).toBeCloseTo(0.02, 12);
    expect(await t.redis.hgetall(keys.records)).toEqual({
      [JSON.stringify(['succeeded', 'risk', 'churn', 'sum'])]: '9',
      [JSON.stringify(['failed', 'risk', 'churn', 'sum'])]: '1',
    });
    expect(await t.redis.hgetall(keys.chunkRetries)).toEqual({ system_enospc: '1' });
    expect((await t.store.get('c1'))?.cost.allocatedCpuSeconds).toBeCloseTo(0.04, 12);
  });

  it('counts a reopened failed batch as in progress again, its earlier failure kept in the total', async () => {
    const gauges = async (): Promise<Record<string, string>> => t.redis.hgetall(metricKeys(t.prefix).batches);
    await t.store.create('r1', request);
    await t.store.markIngested('r1', 1, 10);
    await t.store.recordChunk('r1', 0, chunkResult(0, 10, { chunkFailed: true, failureReason: 'model_invalid' }));
    expect(await t.store.finish('r1', 'failed', 'chunk 0 failed')).toBe(true);
    expect(await t.redis.zrange(finishedBatchesKey(t.prefix, 'failed'), '0', '-1')).toEqual(['r1']);
    expect(await t.store.reopen('r1', [0])).toBe(1);
    expect(await gauges()).toMatchObject({ running: '1', failed: '1' });
    expect(await t.redis.zrange(finishedBatchesKey(t.prefix, 'failed'), '0', '-1')).toEqual([]);
    expect((await t.store.listActive(10)).map((v) => v.id)).toEqual(['r1']);
    await t.store.recordChunk('r1', 0, chunkResult(10, 0));
    expect(await t.store.finish('r1', 'completed')).toBe(true);
    expect(await gauges()).toMatchObject({ running: '0', failed: '1', completed: '1' });
    expect(await t.redis.hgetall(metricKeys(t.prefix).chunkFailures)).toEqual({ model_invalid: '1' });
  });
});
