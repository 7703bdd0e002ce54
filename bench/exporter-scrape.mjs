// Issue 4: what one exporter scrape costs Redis, and that it does not grow with history.
// Fills a private Redis with B finished batches and W waiting chunks, starts the real
// `batchinfer exporter`, and counts Redis commands (INFO commandstats, which also counts the
// commands scripts run) and time per /metrics request. Scrapes are spaced past the
// exporter's one-second read reuse, so each one reads Redis.
// Usage: npm run build && node bench/exporter-scrape.mjs [scrapes=10]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { ROOT, commandStats, machine, startService } from './lib.mjs';

const scrapes = Number(process.argv[2] ?? 10);
const load = async (rel) => import(pathToFileURL(path.join(ROOT, 'dist', rel)).toString());
const { startLocalRedis } = await load('cli/local-redis.js');
const { BatchStore } = await load('shared/batch/batch-store.js');
const { createChunkQueue } = await load('shared/events/chunk-queue.js');
const { buildChunkEvent } = await load('shared/events/chunk-event.js');

const redis = await startLocalRedis();
const client = new Redis(redis.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** B finished batches (each with one accounted chunk) and W chunks waiting, under `prefix`. */
async function fill(prefix, batches, waiting) {
  const store = new BatchStore(client, prefix, 7 * 24 * 3600);
  const request = (i) => ({
    datasetUrl: 'file:///d.jsonl',
    format: 'jsonl',
    model: 'sum',
    chunkSize: 10,
    outputUrl: 'file:///tmp/o',
    labels: { team: `team-${i % 5}` },
  });
  const none = { bucket: '', value: 0 };
  for (let i = 0; i < batches; i++) {
    const id = `b${i}`;
    await store.create(id, request(i));
    await store.markIngested(id, 1, 10);
    await store.recordChunk(id, 0, {
      succeeded: 10,
      failed: 0,
      predictionSum: 1,
      predictionCount: 10,
      latencyMs: 1,
      chunkFailed: false,
      costUsd: 1e-6,
      cpuSeconds: 0.01,
      allocatedCpuSeconds: 0.02,
      wallSeconds: 0.04,
      wait: { bucket: '0.5', value: 0.3 },
      processing: none,
    });
    await store.finish(id, 'completed');
  }
  const queue = createChunkQueue(client, { prefix, attempts: 3 });
  for (let start = 0; start < waiting; start += 500) {
    const jobs = [];
    for (let i = start; i < Math.min(waiting, start + 500); i++) {
      jobs.push({
        name: 'chunk',
        data: buildChunkEvent({
          batchId: 'w',
          chunkIndex: i,
          firstLine: 1,
          records: ['{}'],
          format: 'jsonl',
          model: 'sum',
          outputUrl: 'file:///tmp/o',
        }),
        opts: { jobId: `w-${i}` },
      });
    }
    await queue.addBulk(jobs);
  }
  await queue.close();
}

async function measureScrapes(prefix) {
  const { child, port } = await startService('exporter', {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    PORT: '0',
    EXPORTER_SAMPLE_SECONDS: '3600',
    LOG_LEVEL: 'info',
  });
  await sleep(1200); // past the startup sample's reuse window
  await fetch(`http://127.0.0.1:${port}/metrics`); // warm: scripts loaded, connections up
  let commands = 0;
  const byCommand = {};
  const times = [];
  for (let i = 0; i < scrapes; i++) {
    await sleep(1100);
    const before = await commandStats(client);
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    await res.text();
    times.push(performance.now() - t0);
    const after = await commandStats(client);
    for (const [cmd, n] of Object.entries(after)) {
      const d = n - (before[cmd] ?? 0) - (cmd === 'info' ? 1 : 0);
      if (d > 0) {
        commands += d;
        byCommand[cmd] = (byCommand[cmd] ?? 0) + d;
      }
    }
  }
  child.kill('SIGTERM');
  times.sort((a, b) => a - b);
  return {
    perScrape: commands / scrapes,
    byCommand: Object.fromEntries(Object.entries(byCommand).map(([k, v]) => [k, v / scrapes])),
    medianMs: times[Math.floor(times.length / 2)],
  };
}

console.log(`machine: ${machine()}`);
const scenarios = [
  [10, 0],
  [10, 2000],
  [5000, 2000],
];
const results = [];
for (const [batches, waiting] of scenarios) {
  const prefix = `{bench-scrape-${batches}-${waiting}}`;
  await fill(prefix, batches, waiting);
  const r = await measureScrapes(prefix);
  results.push(r);
  console.log(
    `${batches} finished batches, ${waiting} waiting chunks: ${r.perScrape.toFixed(1)} Redis commands per scrape (scripts' inner commands included), median ${r.medianMs.toFixed(1)} ms`,
  );
  console.log(
    '  ' +
      Object.entries(r.byCommand)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  );
}
console.log(`commands per scrape, 5000 vs 10 batches: ratio ${(results[2].perScrape / results[1].perScrape).toFixed(2)}`);
await client.quit();
await redis.stop();
