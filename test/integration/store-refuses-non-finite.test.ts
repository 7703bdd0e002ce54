/**
 * The store refuses a NaN or infinite number before Redis sees it (ACCOUNTING_VALUE_INVALID,
 * naming the field), and the refused report changes nothing: without the check, Lua writes
 * the chunk's counts and then fails half-way on HINCRBYFLOAT, leaving a batch that counts a
 * chunk whose cost it never booked.
 */
import { describe, expect, it } from 'vitest';
import type { ChunkResult } from '../../src/shared/batch/batch-store.js';
import { metricKeys } from '../../src/shared/batch/keys.js';
import { chunkResult } from '../helpers/chunk-result.js';
import { STORE_TEST_REQUEST as request, useBatchStore } from '../helpers/store-fixture.js';

const t = useBatchStore('finite');

/** Everything a refused report could have touched: the batch, its chunks, the exporter's counters. */
async function snapshot(id: string): Promise<unknown> {
  const m = metricKeys(t.prefix);
  return {
    batch: await t.redis.hgetall(`${t.prefix}:batch:${id}`),
    chunks: await t.redis.hgetall(`${t.prefix}:batch:${id}:chunks`),
    records: await t.redis.hgetall(m.records),
    cost: await t.redis.hgetall(m.costUsd),
    retries: await t.redis.hgetall(m.chunkRetries),
  };
}

const BAD: [string, Partial<ChunkResult>][] = [
  ['costUsd', { costUsd: Number.NaN }],
  ['cpuSeconds', { cpuSeconds: Number.POSITIVE_INFINITY }],
  ['allocatedCpuSeconds', { allocatedCpuSeconds: Number.NEGATIVE_INFINITY }],
  ['wallSeconds', { wallSeconds: Number.NaN }],
  ['latencyMs', { latencyMs: Number.POSITIVE_INFINITY }],
  ['predictionSum', { predictionSum: Number.NaN }],
  ['wait', { wait: { bucket: '1', value: Number.NaN } }],
];

describe('non-finite numbers', () => {
  it.each(BAD)('refuses a chunk whose %s is not finite, and changes nothing', async (field, bad) => {
    await t.store.create('n1', request);
    await t.store.recordChunk('n1', 0, chunkResult(10));
    const before = await snapshot('n1');
    await expect(t.store.recordChunk('n1', 1, chunkResult(10, 0, bad))).rejects.toMatchObject({ code: 'ACCOUNTING_VALUE_INVALID', field });
    expect(await snapshot('n1')).toEqual(before);
    expect(await t.store.accountedChunks('n1')).toEqual(new Set([0]));
  });

  it('refuses a failed attempt whose cost is not finite, and changes nothing', async () => {
    await t.store.create('n2', request);
    const before = await snapshot('n2');
    await expect(
      t.store.recordFailedAttempt('n2', { ...chunkResult(0), costUsd: Number.POSITIVE_INFINITY, reason: 'error' }),
    ).rejects.toMatchObject({
      code: 'ACCOUNTING_VALUE_INVALID',
      field: 'costUsd',
    });
    expect(await snapshot('n2')).toEqual(before);
  });

  it('still accounts finite values, however small or large', async () => {
    await t.store.create('n3', request);
    await t.store.recordChunk('n3', 0, chunkResult(10, 0, { costUsd: 1e-12, predictionSum: 1e300, latencyMs: 0 }));
    expect(await t.store.getSummaryInputs('n3')).toMatchObject({ predictionSum: 1e300, latencyMs: 0 });
  });
});
