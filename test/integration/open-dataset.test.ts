/** Opening datasets from real files and a real HTTP server: gzip, redirects, errors, limits. */
import http from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../src/shared/io/sources/open-dataset.js';
import type { OpenDatasetOptions } from '../../src/shared/io/sources/open-dataset.js';
import { DatasetError, DatasetRefusedError } from '../../src/shared/errors.js';
import { listen } from '../../src/shared/http/health-server.js';

let server: http.Server;
let base: string;
let dir: string;
const body = '{"id":1,"features":[1]}\n{"id":2,"features":[2]}\n';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-open-'));
  server = http.createServer((req, res) => {
    if (req.url === '/plain.jsonl') res.end(body);
    else if (req.url === '/data.jsonl.gz') res.end(gzipSync(body));
    else if (req.url === '/redirect') res.writeHead(302, { location: '/plain.jsonl' }).end();
    else if (req.url === '/redirect-file') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
    else if (req.url === '/stall') res.write('{"id":1');
    else res.writeHead(503).end();
  });
  base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const options = (extra: Partial<OpenDatasetOptions> = {}): OpenDatasetOptions => ({
  signal: new AbortController().signal,
  idleTimeoutMs: 2000,
  allowPrivateNetworks: true,
  allowedSchemes: ['file', 'http', 'https'],
  maxBytes: 1_000_000,
  ...extra,
});

async function read(url: string, extra: Partial<OpenDatasetOptions> = {}): Promise<string> {
  let text = '';
  for await (const chunk of await openDataset(new URL(url), options(extra))) text += (chunk as Buffer).toString();
  return text;
}

describe('openDataset', () => {
  it('reads files and gunzips by magic bytes, whatever the name', async () => {
    await writeFile(path.join(dir, 'a.jsonl'), body);
    await writeFile(path.join(dir, 'compressed-without-suffix'), gzipSync(body));
    expect(await read(pathToFileURL(path.join(dir, 'a.jsonl')).toString())).toBe(body);
    expect(await read(pathToFileURL(path.join(dir, 'compressed-without-suffix')).toString())).toBe(body);
  });

  it('reads over HTTP, follows redirects, gunzips', async () => {
    expect(await read(`${base}/plain.jsonl`)).toBe(body);
    expect(await read(`${base}/data.jsonl.gz`)).toBe(body);
    expect(await read(`${base}/redirect`)).toBe(body);
  });

  it('fails clearly on HTTP errors, redirect loops and redirects to other schemes', async () => {
    await expect(read(`${base}/missing`)).rejects.toMatchObject({ code: 'DATASET_HTTP_ERROR' });
    await expect(read(`${base}/loop`)).rejects.toMatchObject({ code: 'DATASET_TOO_MANY_REDIRECTS' });
    await expect(read(`${base}/redirect-file`)).rejects.toBeInstanceOf(DatasetRefusedError);
  });

  it('gives up on a server that stalls mid-stream', async () => {
    await expect(read(`${base}/stall`, { idleTimeoutMs: 300 })).rejects.toMatchObject({ code: 'DATASET_TIMEOUT' });
  });

  it('stops a dataset over the size limit', async () => {
    await expect(read(`${base}/plain.jsonl`, { maxBytes: 10 })).rejects.toMatchObject({ code: 'DATASET_TOO_LARGE' });
  });

  it('refuses schemes outside the allow-list and loopback addresses unless allowed', async () => {
    await expect(read(`${base}/plain.jsonl`, { allowedSchemes: ['https'] })).rejects.toBeInstanceOf(DatasetRefusedError);
    await expect(read(`${base}/plain.jsonl`, { allowPrivateNetworks: false })).rejects.toBeInstanceOf(DatasetRefusedError);
    await expect(read(pathToFileURL(path.join(dir, 'absent')).toString())).rejects.toBeInstanceOf(DatasetError);
  });
});
