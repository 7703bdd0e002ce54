/**
 * Every limit is enforced by the running services and fails with a stable code: dataset
 * size (after decompression: a gzip bomb), records per batch, total fetch time (a server
 * that trickles forever), line length (a record error, not a batch failure), request body.
 */
import http from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/shared/http/health-server.js';
import type { BatchView } from '../../src/shared/types.js';
import { startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { readBatchOutput } from '../helpers/output.js';
import { freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

const record = (i: number): string => JSON.stringify({ id: i, features: [i, 1] });
const lines = (n: number): string => Array.from({ length: n }, (_, i) => record(i + 1)).join('\n') + '\n';

let redis: LocalRedis;
let producer: RunningService;
let consumer: RunningService;
let server: http.Server;
let base: string;
let output: string;
const trickles = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  const bodies: Record<string, () => string | Buffer> = {
    '/twenty.jsonl': () => lines(20),
    '/many.jsonl': () => lines(30),
    '/big.jsonl': () => `${'x'.repeat(2000)}\n`.repeat(3),
    '/bomb.jsonl.gz': () => gzipSync(Buffer.alloc(1024 * 1024, '\n')),
    '/long-line.jsonl': () => `${record(1)}\n${JSON.stringify({ id: 2, features: Array(40).fill(1) })}\n${record(3)}\n`,
  };
  server = http.createServer((req, res) => {
    const body = bodies[req.url ?? ''];
    if (body) {
      res.end(body());
      return;
    }
    if (req.url !== '/trickle.jsonl') {
      res.writeHead(404).end();
      return;
    }
    // A record every 100 ms: never idle long enough for the idle timeout, never done.
    let i = 0;
    const timer = setInterval(() => res.write(record((++i % 15) + 1) + '\n'), 100);
    trickles.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      trickles.delete(timer);
    });
  });
  base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-limits-'));
  output = path.join(dir, 'out');
  redis = await startTestRedis();
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: freshPrefix('limits'),
    OUTPUT_URL: pathToFileURL(output).toString(),
    DATASET_ALLOWED_CIDRS: '127.0.0.1',
    MAX_DATASET_BYTES: '4096',
    MAX_RECORDS_PER_BATCH: '20',
    DATASET_FETCH_TIMEOUT_SECONDS: '1',
    MAX_LINE_BYTES: '64',
    MAX_REQUEST_BYTES: '1024',
    CHUNK_SIZE: '5',
  };
  producer = await startService('producer', env);
  consumer = await startService('consumer', env);
});

afterAll(async () => {
  await Promise.all([producer?.stop(), consumer?.stop()]);
  await redis?.stop();
  for (const t of trickles) clearInterval(t);
  server?.closeAllConnections();
  server?.close();
});

async function runBatch(name: string): Promise<BatchView> {
  const res = await fetch(`${producer.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ datasetUrl: `${base}/${name}` }),
  });
  expect(res.status, name).toBe(202);
  const { id } = (await res.json()) as { id: string };
  return waitUntil(
    async () => {
      const view = (await (await fetch(`${producer.url}/v1/batches/${id}`)).json()) as BatchView;
      return view.status === 'completed' || view.status === 'failed' ? view : undefined;
    },
    { what: `batch for ${name} to finish`, timeoutMs: 60_000 },
  );
}

describe('limits', () => {
  it('accepts a dataset at the record limit and fails one past it with DATASET_TOO_MANY_RECORDS', async () => {
    const atLimit = await runBatch('twenty.jsonl');
    expect(atLimit.status).toBe('completed');
    expect(atLimit.records.succeeded).toBe(20);
    const past = await runBatch('many.jsonl');
    expect(past).toMatchObject({ status: 'failed', errorCode: 'DATASET_TOO_MANY_RECORDS' });
  });

  it('fails a dataset over MAX_DATASET_BYTES, and a gzip bomb, with DATASET_TOO_LARGE', async () => {
    expect(await runBatch('big.jsonl')).toMatchObject({ status: 'failed', errorCode: 'DATASET_TOO_LARGE' });
    expect(await runBatch('bomb.jsonl.gz')).toMatchObject({ status: 'failed', errorCode: 'DATASET_TOO_LARGE' });
  });

  it('fails a dataset that trickles past DATASET_FETCH_TIMEOUT_SECONDS with DATASET_FETCH_TIMEOUT, and closes the connection', async () => {
    expect(await runBatch('trickle.jsonl')).toMatchObject({ status: 'failed', errorCode: 'DATASET_FETCH_TIMEOUT' });
    await waitUntil(() => trickles.size === 0, { what: 'the trickling connection to close' });
  });

  it('reports a line over MAX_LINE_BYTES as a record error with its line number; the batch completes', async () => {
    const view = await runBatch('long-line.jsonl');
    expect(view.status).toBe('completed');
    expect(view.records).toMatchObject({ succeeded: 2, failed: 1 });
    const out = await readBatchOutput(output, view.id);
    expect(out.errors.map((e) => e.line)).toEqual([2]);
  });

  it('refuses a request body over MAX_REQUEST_BYTES with 413, with or without a content-length', async () => {
    const big = JSON.stringify({ datasetUrl: `${base}/twenty.jsonl`, labels: { team: 'x'.repeat(100) }, idempotencyKey: 'k'.repeat(2000) });
    const declared = await fetch(`${producer.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });

    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${producer.url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write(' '.repeat(256));
      req.end(big);
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });
});
