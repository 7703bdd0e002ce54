/**
 * Why a batch failed, against a real Redis: the status names the first chunk that failed for
 * good (code, message, index, attempts), counts failed chunks by code, and keeps both right
 * through replays and reopening.
 */
import { describe, expect, it } from 'vitest';
import type { ChunkResult } from '../../src/shared/batch/batch-store.js';
import { chunkResult } from '../helpers/chunk-result.js';
import { STORE_TEST_REQUEST as request, useBatchStore } from '../helpers/store-fixture.js';

const t = useBatchStore('cause');

/** A chunk that failed for good with `code` after `attempts` attempts. */
const failedChunk = (code: string, message: string, attempts = 3): ChunkResult =>
  chunkResult(0, 10, {
    predictionSum: 0,
    predictionCount: 0,
    chunkFailed: true,
    failureReason: code.toLowerCase(),
    failure: { code, message, attempts },
  });

describe('a failed batch says why', () => {
  it('names the first chunk that failed for good and counts every failed chunk by code', async () => {
    await t.store.create('f1', request);
    await t.store.recordChunk('f1', 0, chunkResult(10));
    await t.store.recordChunk('f1', 3, failedChunk('MODEL_NOT_FOUND', 'no model at linear:absent.json'));
    await t.store.recordChunk('f1', 1, failedChunk('STALLED', 'job stalled more than allowable limit', 2));
    await t.store.recordChunk('f1', 2, failedChunk('MODEL_NOT_FOUND', 'no model at linear:absent.json'));
    expect((await t.store.get('f1'))?.error, 'no error while the batch runs').toBeUndefined();
    expect(await t.store.markIngested('f1', 4, 40)).toBe('close');
    expect(await t.store.finish('f1', 'failed', '3 chunk(s) failed: 1, 2, 3')).toBe(true);

    const view = await t.store.get('f1');
    expect(view?.error).toEqual({ code: 'MODEL_NOT_FOUND', message: 'no model at linear:absent.json', chunkIndex: 3, attempts: 3 });
    expect(view?.errorCode).toBe('MODEL_NOT_FOUND');
    expect(view?.failures).toEqual({ MODEL_NOT_FOUND: 2, STALLED: 1 });
    expect(view?.failedChunks).toEqual([1, 2, 3]);
  });

  it('keeps the counts right when a failed chunk is replayed, and forgets a cause that succeeded', async () => {
    await t.store.create('f2', request);
    await t.store.recordChunk('f2', 0, failedChunk('SYSTEM_ENOSPC', 'no space left on device'));
    // The same failure delivered twice (a consumer restarted after accounting it) counts once.
    await t.store.recordChunk('f2', 0, failedChunk('SYSTEM_ENOSPC', 'no space left on device'));
    expect((await t.store.get('f2'))?.failures).toEqual({ SYSTEM_ENOSPC: 1 });
    // A later replay that succeeds takes the chunk out of the failures, and the cause with it.
    await t.store.recordChunk('f2', 0, chunkResult(10));
    await t.store.recordChunk('f2', 1, failedChunk('CHUNK_FAILED', 'model server returned 503'));
    await t.store.markIngested('f2', 2, 20);
    await t.store.finish('f2', 'failed');
    const view = await t.store.get('f2');
    expect(view?.failures).toEqual({ CHUNK_FAILED: 1 });
    expect(view?.error).toEqual({ code: 'CHUNK_FAILED', message: 'model server returned 503', chunkIndex: 1, attempts: 3 });
  });

  it('starts over when the failed chunks are reopened: the next failure is the cause', async () => {
    await t.store.create('f3', request);
    await t.store.recordChunk('f3', 0, failedChunk('STALLED', 'stalled', 1));
    await t.store.markIngested('f3', 1, 10);
    await t.store.finish('f3', 'failed');
    expect(await t.store.reopen('f3', [0])).toBe(1);
    const reopened = await t.store.get('f3');
    expect(reopened?.failures).toEqual({});
    expect(reopened?.error).toBeUndefined();

    expect(await t.store.recordChunk('f3', 0, failedChunk('MODEL_INPUT_MISMATCH', 'model takes 3 features, got 4', 1))).toBe('close');
    await t.store.finish('f3', 'failed');
    const again = await t.store.get('f3');
    expect(again?.error).toMatchObject({ code: 'MODEL_INPUT_MISMATCH', chunkIndex: 0, attempts: 1 });
    expect(again?.failures).toEqual({ MODEL_INPUT_MISMATCH: 1 });
  });

  it('gives a halted batch its own code, and a cancelled one BATCH_CANCELLED', async () => {
    await t.store.create('h1', request);
    await t.store.halt('h1', 'failed', 'ingest failed: dataset answered HTTP 404', 'DATASET_NOT_FOUND');
    expect(await t.store.get('h1')).toMatchObject({
      status: 'failed',
      error: { code: 'DATASET_NOT_FOUND', message: 'ingest failed: dataset answered HTTP 404' },
      errorCode: 'DATASET_NOT_FOUND',
      failures: {},
    });
    await t.store.create('h2', request);
    await t.store.halt('h2', 'cancelled', 'cancelled by request');
    expect((await t.store.get('h2'))?.error).toEqual({ code: 'BATCH_CANCELLED', message: 'cancelled by request' });
  });

  it('puts the cause in the manifest inputs the closer reads, and bounds a long message', async () => {
    await t.store.create('f4', request);
    await t.store.recordChunk('f4', 0, failedChunk('CHUNK_FAILED', 'x'.repeat(5000)));
    const inputs = await t.store.getSummaryInputs('f4');
    expect(inputs.firstFailure).toMatchObject({ code: 'CHUNK_FAILED', chunkIndex: 0, attempts: 3 });
    expect(inputs.firstFailure?.message.length).toBe(1000);
  });
});
