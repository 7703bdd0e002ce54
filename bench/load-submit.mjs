// Load on the producer's submit endpoint: waves of concurrent POST /v1/batches against a real
// `batchinfer producer` (private redis-server, a dataset server on loopback), next to a
// sequential baseline measured in the same run. Reports latency percentiles, 202/429 counts,
// health during the storm, and duplicates found (a key answered with two batch ids, a chunk
// queued twice, a batch with the wrong number of chunks). Loopback only, bounded.
// Usage: npm run build && node bench/load-submit.mjs [concurrent=200] [waves=3] [maxConcurrentIngests=8] [datasetDelayMs=50]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, startLocalRedis } from '../dist/cli/local-redis.js';
import { CLI, machine } from './lib.mjs';

const CONCURRENT = Math.min(Number(process.argv[2] ?? 200), 1000);
const WAVES = Math.min(Number(process.argv[3] ?? 3), 20);
const MAX_INGESTS = Number(process.argv[4] ?? 8);
const DELAY_MS = Number(process.argv[5] ?? 50);
const BASELINE = 50;
const RECORDS = 100;
const CHUNK_SIZE = 25;
const CHUNKS = Math.ceil(RECORDS / CHUNK_SIZE);
const PREFIX = '{bench-load}';

const DATA = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: i, features: [i, 1, 2] })).join('\n') + '\n';
// The dataset server answers after a delay, like a remote object store, so ingests overlap.
const dataServer = http.createServer((_req, res) => setTimeout(() => res.end(DATA), DELAY_MS));
await new Promise((r) => dataServer.listen(0, '127.0.0.1', r));
const datasetUrl = `http://127.0.0.1:${dataServer.address().port}/d.jsonl`;

const redis = await startLocalRedis();
const port = await freePort();
const producer = spawn(process.execPath, [CLI, 'producer'], {
  env: {
    ...process.env,
    PORT: String(port),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: PREFIX,
    DATASET_ALLOWED_CIDRS: '127.0.0.1',
    MAX_CONCURRENT_INGESTS: String(MAX_INGESTS),
    CHUNK_SIZE: String(CHUNK_SIZE),
    LOG_LEVEL: 'warn',
    OTEL_TRACES_EXPORTER: 'none',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok) break;
  if (i > 200) throw new Error('producer did not start');
  await new Promise((r) => setTimeout(r, 50));
}

async function submit(key) {
  const started = process.hrtime.bigint();
  const res = await fetch(`${base}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ datasetUrl, idempotencyKey: key }),
  });
  const body = await res.json();
  return {
    key,
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    id: body.id,
    ms: Number(process.hrtime.bigint() - started) / 1e6,
  };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const stats = (answers) => {
  const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
  return { p50: pct(ms, 50), p95: pct(ms, 95), p99: pct(ms, 99), max: ms[ms.length - 1] };
};

async function idle() {
  // Waits until no batch is still ingesting, so every wave starts from the same state.
  const client = new Redis(redis.url);
  try {
    for (;;) {
      const ids = await client.zrange(`${PREFIX}:batches`, 0, -1);
      const statuses = await Promise.all(ids.map((id) => client.hget(`${PREFIX}:batch:${id}`, 'status')));
      if (statuses.every((s) => s !== 'ingesting')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    client.disconnect();
  }
}

// Baseline: one request at a time.
const baseline = [];
for (let i = 0; i < BASELINE; i++) {
  baseline.push(await submit(`baseline-${i}`));
  await idle();
}

// Second baseline: the same concurrency on /healthz, which does no work: what 200 concurrent
// loopback connections cost by themselves on this machine.
const healthStorm = [];
for (let w = 0; w < WAVES; w++) {
  healthStorm.push(
    ...(await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        const started = process.hrtime.bigint();
        const res = await fetch(`${base}/healthz`);
        await res.arrayBuffer();
        return { status: res.status, ms: Number(process.hrtime.bigint() - started) / 1e6 };
      }),
    )),
  );
}

// Storm: waves of CONCURRENT requests, half the keys sent twice at once.
const storm = [];
let healthFailures = 0;
let healthProbes = 0;
for (let w = 0; w < WAVES; w++) {
  let storming = true;
  const probing = (async () => {
    while (storming) {
      healthProbes++;
      if ((await fetch(`${base}/healthz`).catch(() => undefined))?.status !== 200) healthFailures++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  storm.push(...(await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => submit(`wave${w}-${i % (CONCURRENT / 2)}`)))));
  storming = false;
  await probing;
  await idle();
}

// Duplicates: a key with two ids, a chunk queued twice, a batch with the wrong chunk count.
const all = [...baseline, ...storm];
const idsByKey = new Map();
for (const a of all.filter((x) => x.status === 202)) idsByKey.set(a.key, (idsByKey.get(a.key) ?? new Set()).add(a.id));
const keysWithTwoIds = [...idsByKey.values()].filter((ids) => ids.size > 1).length;
const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
const queue = new Queue('chunks', { connection, prefix: PREFIX });
const jobIds = (await queue.getJobs(['waiting', 'prioritized', 'active', 'delayed'])).map((j) => j.id);
const batchIds = [...new Set([...idsByKey.values()].flatMap((ids) => [...ids]))];
const expected = new Set(batchIds.flatMap((id) => Array.from({ length: CHUNKS }, (_, i) => `${id}-${i}`)));
const duplicateJobs = jobIds.length - new Set(jobIds).size;
const missingOrExtra = jobIds.filter((id) => !expected.has(id)).length + [...expected].filter((id) => !jobIds.includes(id)).length;
const storedBatches = await connection.zcard(`${PREFIX}:batches`);
const hwmKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${producer.pid}/status`, 'utf8'))?.[1] ?? 0);
await queue.close();
connection.disconnect();

const count = (answers, status) => answers.filter((a) => a.status === status).length;
const other = storm.filter((a) => a.status !== 202 && a.status !== 429).length;
const shedWithoutRetryAfter = storm.filter((a) => a.status === 429 && !(Number(a.retryAfter) > 0)).length;
const b = stats(baseline);
const h = stats(healthStorm);
const s = stats(storm);
const f = (x) => x.toFixed(1);
console.log(`machine: ${machine()}`);
console.log(`command: node bench/load-submit.mjs ${CONCURRENT} ${WAVES} ${MAX_INGESTS} ${DELAY_MS}`);
console.log(`| figure | value |\n|---|---|`);
console.log(`| baseline (${BASELINE} sequential) latency p50 / p99 | ${f(b.p50)} / ${f(b.p99)} ms |`);
console.log(
  `| storm (${WAVES} × ${CONCURRENT} concurrent) latency p50 / p95 / p99 / max | ${f(s.p50)} / ${f(s.p95)} / ${f(s.p99)} / ${f(s.max)} ms |`,
);
console.log(`| /healthz at the same concurrency, p50 / p99 | ${f(h.p50)} / ${f(h.p99)} ms |`);
console.log(`| storm p50 / sequential p50 | ${(s.p50 / b.p50).toFixed(1)}× |`);
console.log(`| storm p50 / /healthz-at-same-concurrency p50 | ${(s.p50 / h.p50).toFixed(2)}× |`);
console.log(`| storm answers 202 / 429 / other | ${count(storm, 202)} / ${count(storm, 429)} / ${other} |`);
console.log(`| 429 without Retry-After | ${shedWithoutRetryAfter} |`);
console.log(`| /healthz failures during storms | ${healthFailures} of ${healthProbes} |`);
console.log(`| batches created / distinct keys accepted | ${storedBatches} / ${idsByKey.size} |`);
console.log(
  `| duplicates found (keys with 2 ids + chunks queued twice + chunks missing or extra) | ${keysWithTwoIds + duplicateJobs + missingOrExtra} |`,
);
console.log(`| producer peak RSS | ${(hwmKb / 1024).toFixed(0)} MiB |`);

producer.kill('SIGTERM');
await new Promise((r) => producer.once('exit', r));
await redis.stop();
dataServer.close();
