/** DATASET_FETCH_TIMEOUT_SECONDS bounds the whole fetch: waiting for headers as well as streaming. */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../src/shared/io/sources/open-dataset.js';
import type { OpenDatasetOptions } from '../../src/shared/io/sources/open-dataset.js';
import { listen } from '../../src/shared/http/health-server.js';

let server: http.Server;
let base: string;
const open = new Set<http.ServerResponse>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    if (req.url === '/trickle') {
      const timer = setInterval(() => res.write('{"id":1,"features":[1]}\n'), 50);
      res.on('close', () => clearInterval(timer));
    }
    // '/silent': headers never come.
  });
  base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const options = (fetchTimeoutMs: number): OpenDatasetOptions => ({
  signal: new AbortController().signal,
  idleTimeoutMs: 10_000,
  allowPrivateNetworks: true,
  allowedSchemes: ['http'],
  maxBytes: 1_000_000,
  fetchTimeoutMs,
});

describe('fetch deadline', () => {
  it('fails a server that never sends headers with DATASET_FETCH_TIMEOUT, well before the idle timeout', async () => {
    await expect(openDataset(new URL(`${base}/silent`), options(300))).rejects.toMatchObject({ code: 'DATASET_FETCH_TIMEOUT' });
  });

  it('fails a stream that trickles past the deadline with DATASET_FETCH_TIMEOUT and closes the connection', async () => {
    const stream = await openDataset(new URL(`${base}/trickle`), options(400));
    const read = (async () => {
      for await (const chunk of stream) void chunk;
    })();
    await expect(read).rejects.toMatchObject({ code: 'DATASET_FETCH_TIMEOUT' });
    await expect.poll(() => open.size, { timeout: 5000 }).toBe(0);
  });
});
