/**
 * 200 concurrent submissions against a producer limited to 4 concurrent ingests (loopback
 * only, bounded): every answer is 202 or 429 with Retry-After, the producer stays healthy,
 * and nothing is queued twice. The dataset server holds its answers until released, so the
 * ingests stay busy for the whole storm whatever the machine's speed (behaviour, not timing).
 */
import http from 'node:http';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { listen } from '../../src/shared/http/health-server.js';
import { CHUNK_QUEUE } from '../../src/shared/batch/keys.js';
import type { BatchView } from '../../src/shared/types.js';
import type { RunningService } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { waitUntil } from '../helpers/wait-until.js';

const LIMIT = 4;
const REQUESTS = 200;
const KEYS = 100; // each idempotency key is sent twice, concurrently
const RECORDS = 12;
const CHUNK_SIZE = 5; // → 3 chunks per batch

let connection: Redis;
let producer: RunningService;
let server: http.Server;
let base: string;
let prefix: string;
let held: http.ServerResponse[] = [];
let holding = true;
const DATA = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: i, features: [i] })).join('\n') + '\n';

it.beforeAll(async ({ redisClient, serviceEnv, fileServices }) => {
  server = http.createServer((_req, res) => {
    if (holding) held.push(res);
    else res.end(DATA);
  });
  base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  connection = redisClient;
  const env = serviceEnv({
    // The service's default schemes: http(s) datasets, as users send them.
    DATASET_ALLOWED_SCHEMES: undefined,
    DATASET_ALLOWED_CIDRS: '127.0.0.1',
    MAX_CONCURRENT_INGESTS: String(LIMIT),
    CLOUDEVENTS_REQUIRE_TOKEN: 'false',
    CHUNK_SIZE: String(CHUNK_SIZE),
  });
  prefix = env.QUEUE_PREFIX;
  producer = await fileServices.start('producer', env);
});

it.afterAll(() => {
  server?.closeAllConnections();
  server?.close();
});

interface Answer {
  key: string;
  status: number;
  retryAfter: string | null;
  body: { id?: string; error?: { code: string } };
}

async function submit(key: string): Promise<Answer> {
  const res = await fetch(`${producer.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ datasetUrl: `${base}/d.jsonl`, idempotencyKey: key }),
  });
  return { key, status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Answer['body'] };
}

describe('producer under a storm of submissions', () => {
  it('answers each with 202 or 429 + Retry-After, stays healthy, and queues nothing twice', async () => {
    const keys = Array.from({ length: REQUESTS }, (_, i) => `storm-${i % KEYS}`);
    const health: number[] = [];
    const probing = (async () => {
      for (let i = 0; i < 5; i++) health.push((await fetch(`${producer.url}/healthz`)).status);
    })();
    const answers = await Promise.all(keys.map(submit));
    await probing;

    const statuses = new Set(answers.map((a) => a.status));
    expect(
      [...statuses].every((s) => s === 202 || s === 429),
      `statuses ${[...statuses].join(',')}`,
    ).toBe(true);
    const accepted = answers.filter((a) => a.status === 202);
    const shed = answers.filter((a) => a.status === 429);
    expect(accepted.length).toBeGreaterThan(0);
    expect(shed.length).toBeGreaterThan(0);
    for (const a of shed) {
      expect(a.body.error?.code).toBe('TOO_MANY_REQUESTS');
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
    }
    // One batch per key, and no more ingests than the limit.
    const idsByKey = new Map<string, Set<string>>();
    for (const a of accepted) idsByKey.set(a.key, (idsByKey.get(a.key) ?? new Set()).add(a.body.id ?? ''));
    expect([...idsByKey.values()].every((ids) => ids.size === 1)).toBe(true);
    const batchIds = [...new Set(accepted.map((a) => a.body.id ?? ''))];
    expect(batchIds.length).toBeLessThanOrEqual(LIMIT);
    expect(health.every((s) => s === 200)).toBe(true);

    // A scheduler's tick is never shed, even now: a PingSource would drop a refused tick.
    const tick = await fetch(`${producer.url}/`, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-type': 'dev.knative.sources.ping',
        'ce-source': '/apis/v1/namespaces/ml/pingsources/nightly',
        'ce-id': 'tick-1',
        'ce-time': new Date().toISOString(),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ datasetUrl: `${base}/d.jsonl` }),
    });
    expect(tick.status).toBe(202);
    batchIds.push(((await tick.json()) as { id: string }).id);

    // Let the held ingests finish: each batch holds exactly its chunks, once.
    await waitUntil(() => held.length === batchIds.length, { what: 'every ingest to reach the dataset server' });
    holding = false;
    for (const res of held) res.end(DATA);
    held = [];
    const views = await waitUntil(async () => {
      const all = await Promise.all(
        batchIds.map(async (id) => (await (await fetch(`${producer.url}/v1/batches/${id}`)).json()) as BatchView),
      );
      return all.every((v) => v.status === 'running') ? all : undefined;
    });
    for (const v of views) expect(v.chunks.total).toBe(Math.ceil(RECORDS / CHUNK_SIZE));

    const queue = new Queue(CHUNK_QUEUE, { connection, prefix });
    try {
      const jobs = await queue.getJobs(['waiting', 'prioritized', 'active', 'delayed']);
      const jobIds = jobs.map((j) => j.id ?? '');
      expect(new Set(jobIds).size).toBe(jobIds.length);
      const expected = batchIds.flatMap((id) => Array.from({ length: Math.ceil(RECORDS / CHUNK_SIZE) }, (_, i) => `${id}-${i}`));
      expect(jobIds.sort()).toEqual(expected.sort());
      const batches = await connection.zcard(`${prefix}:batches`);
      expect(batches).toBe(batchIds.length);
    } finally {
      await queue.close();
    }

    // Capacity is back: a shed key is accepted when retried, an accepted one keeps its batch.
    const retried = await submit(shed.find((a) => !idsByKey.has(a.key))?.key ?? 'storm-new');
    expect(retried.status).toBe(202);
    const again = await submit(accepted[0]?.key ?? '');
    expect(again.body.id).toBe(accepted[0]?.body.id);
    expect((await fetch(`${producer.url}/readyz`)).status).toBe(200);
  });
});
