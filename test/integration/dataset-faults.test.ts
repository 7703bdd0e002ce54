/**
 * Reading a dataset from a real HTTP server that fails: 5xx answers are retried with backoff
 * and a bounded budget; a connection cut mid-stream is resumed with Range/If-Range (or by
 * re-reading and skipping, when the server has no ranges), but only when a validator proves
 * the file unchanged; a changed file is never stitched together.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../src/shared/io/sources/open-dataset.js';
import type { OpenDatasetOptions } from '../../src/shared/io/sources/open-dataset.js';
import { DatasetError } from '../../src/shared/errors.js';
import { startDatasetServer } from '../helpers/dataset-server.js';
import type { DatasetServer } from '../helpers/dataset-server.js';

let server: DatasetServer;
// ~60 KB of distinct lines, so a stitched or doubled stream cannot go unnoticed.
const body = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: `r${i}`, features: [i, i % 7] })).join('\n') + '\n';

beforeAll(async () => {
  server = await startDatasetServer();
});
afterAll(async () => {
  await server.stop();
});

const options = (extra: Partial<OpenDatasetOptions> = {}): OpenDatasetOptions => ({
  signal: new AbortController().signal,
  idleTimeoutMs: 2000,
  allowPrivateNetworks: true,
  allowedSchemes: ['http'],
  maxBytes: 10_000_000,
  retries: 3,
  retryDelayMs: 20,
  ...extra,
});

async function read(path: string, extra: Partial<OpenDatasetOptions> = {}): Promise<string> {
  let text = '';
  for await (const chunk of await openDataset(new URL(server.url(path)), options(extra))) text += (chunk as Buffer).toString();
  return text;
}

async function failure(path: string, extra: Partial<OpenDatasetOptions> = {}): Promise<DatasetError> {
  const err = await read(path, extra).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  return err as DatasetError;
}

describe('dataset server faults', () => {
  it('resumes a stream cut mid-way with Range and If-Range, reading every byte once', async () => {
    server.set('/cut.jsonl', body);
    server.fail('/cut.jsonl', { cutAfterBytes: 10_000 }, { cutAfterBytes: 15_000 });
    expect(await read('/cut.jsonl')).toBe(body);
    const requests = server.requestsFor('/cut.jsonl');
    expect(requests.map((r) => r.status)).toEqual([200, 206, 206]);
    expect(requests[1]?.range).toBe('bytes=10000-');
    expect(requests[2]?.range).toBe('bytes=25000-');
    expect(requests[1]?.ifRange).toMatch(/^"[0-9a-f]+"$/);
  });

  it('resumes with Last-Modified as the validator when there is no ETag', async () => {
    server.set('/lm.jsonl', body, { etag: false, lastModified: true });
    server.fail('/lm.jsonl', { cutAfterBytes: 30_000 });
    expect(await read('/lm.jsonl')).toBe(body);
    expect(server.requestsFor('/lm.jsonl')[1]?.ifRange).toMatch(/GMT$/);
  });

  it('re-reads and skips what it had when the server has no ranges but an ETag', async () => {
    server.set('/noranges.jsonl', body, { ranges: false });
    server.fail('/noranges.jsonl', { cutAfterBytes: 20_000 });
    expect(await read('/noranges.jsonl')).toBe(body);
    expect(server.requestsFor('/noranges.jsonl').map((r) => [r.status, r.range])).toEqual([
      [200, undefined],
      [200, undefined],
    ]);
  });

  it('refuses to stitch a file replaced while it was being read', async () => {
    server.set('/changing.jsonl', body);
    server.fail('/changing.jsonl', { cutAfterBytes: 20_000, thenReplaceWith: body.replaceAll('features', 'Features') });
    const err = await failure('/changing.jsonl');
    expect(err.code).toBe('DATASET_CHANGED');
    // The If-Range did not match, so the server sent the whole new file, which was refused.
    expect(server.requestsFor('/changing.jsonl').map((r) => r.status)).toEqual([200, 200]);
  });

  it('fails a cut stream it cannot prove unchanged (no ETag, no Last-Modified)', async () => {
    server.set('/novalidator.jsonl', body, { etag: false });
    server.fail('/novalidator.jsonl', { cutAfterBytes: 20_000 });
    const err = await failure('/novalidator.jsonl');
    expect(err.code).toBe('DATASET_INTERRUPTED');
    expect(server.requestsFor('/novalidator.jsonl')).toHaveLength(1);
  });

  it('retries 5xx answers with backoff, then reads the file', async () => {
    server.set('/flaky.jsonl', body);
    server.fail('/flaky.jsonl', { status: 503 }, { status: 502, retryAfter: 0 }, { status: 500 });
    expect(await read('/flaky.jsonl')).toBe(body);
    expect(server.requestsFor('/flaky.jsonl').map((r) => r.status)).toEqual([503, 502, 500, 200]);
  });

  it('gives up after its retries with the last status as the reason', async () => {
    server.set('/down.jsonl', body);
    server.fail('/down.jsonl', ...Array.from({ length: 10 }, () => ({ status: 503 })));
    const err = await failure('/down.jsonl', { retries: 2 });
    expect(err.code).toBe('DATASET_HTTP_ERROR');
    expect(err.message).toContain('503');
    expect(server.requestsFor('/down.jsonl')).toHaveLength(3);
  });

  it('does not retry answers that will not change (404)', async () => {
    const err = await failure('/absent.jsonl');
    expect(err.code).toBe('DATASET_NOT_FOUND');
    expect(server.requestsFor('/absent.jsonl')).toHaveLength(1);
  });

  it('keeps resuming while each try makes progress, however many cuts', async () => {
    server.set('/choppy.jsonl', body);
    server.fail('/choppy.jsonl', ...Array.from({ length: 6 }, () => ({ cutAfterBytes: 8_000 })));
    expect(await read('/choppy.jsonl', { retries: 1 })).toBe(body);
    expect(server.requestsFor('/choppy.jsonl')).toHaveLength(7);
  });

  it('reports the version it read, and refuses another version when resuming an ingest', async () => {
    server.set('/versioned.jsonl', body);
    let seen: string | undefined;
    await read('/versioned.jsonl', { onVersion: (v) => Promise.resolve(void (seen = v)) });
    expect(seen).toMatch(/^etag:/);
    expect(await read('/versioned.jsonl', { expectedVersion: seen })).toBe(body);
    server.set('/versioned.jsonl', body + body);
    const err = await failure('/versioned.jsonl', { expectedVersion: seen });
    expect(err.code).toBe('DATASET_CHANGED');
  });
});
