// Issue 15: what `appendfsync always` (the shipped Redis manifests) costs against `everysec`,
// on the write that matters: the consumers' accounting script (BatchStore.recordChunk), from
// `consumers` concurrent connections, each on its own private redis-server with append-only
// persistence, both modes in the same run, alternating rounds. After each round Redis is
// SIGKILLed and restarted, and the accounted chunks are counted again.
// Usage: npm run build && node bench/redis-fsync.mjs [chunks=20000] [consumers=16] [rounds=3]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { ROOT, machine } from './lib.mjs';

const chunks = Number(process.argv[2] ?? 20_000);
const consumers = Number(process.argv[3] ?? 16);
const rounds = Number(process.argv[4] ?? 3);
const { startLocalRedis } = await import(pathToFileURL(path.join(ROOT, 'dist', 'cli', 'local-redis.js')).toString());
const { BatchStore } = await import(pathToFileURL(path.join(ROOT, 'dist', 'shared', 'batch', 'batch-store.js')).toString());

const usage = {
  costUsd: 0.0001,
  cpuSeconds: 0.2,
  allocatedCpuSeconds: 0.25,
  wallSeconds: 0.5,
  wait: { bucket: '1', value: 0.4 },
  processing: { bucket: '1', value: 0.5 },
};
const result = { succeeded: 1000, failed: 0, predictionSum: 1, predictionCount: 1000, latencyMs: 30, chunkFailed: false, ...usage };

async function round(mode) {
  const redis = await startLocalRedis({ persistence: true, appendfsync: mode });
  const clients = Array.from({ length: consumers }, () => new Redis(redis.url));
  const stores = clients.map((c) => new BatchStore(c, '{bench}', 3600));
  await stores[0].create('b', {
    datasetUrl: 'file:///d',
    format: 'jsonl',
    model: 'sum',
    chunkSize: 1000,
    outputUrl: 'file:///o',
    labels: {},
  });
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    stores.map(async (store) => {
      for (let i = next++; i < chunks; i = next++) await store.recordChunk('b', i, result);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await Promise.all(clients.map((c) => c.quit()));
  // Every write above was acknowledged; SIGKILL Redis at once and count what it kept.
  await redis.restart('SIGKILL');
  const check = new Redis(redis.url);
  const kept = await check.hlen('{bench}:batch:b:chunks');
  await check.quit();
  await redis.stop();
  return { seconds, kept };
}

const modes = ['everysec', 'always'];
const runs = { everysec: [], always: [] };
for (let r = 0; r < rounds; r++) for (const mode of r % 2 ? [...modes].reverse() : modes) runs[mode].push(await round(mode));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`machine: ${machine()}`);
console.log(`${chunks} accounting writes from ${consumers} connections, ${rounds} rounds per mode (alternating)`);
const rate = {};
for (const mode of modes) {
  const s = median(runs[mode].map((x) => x.seconds));
  rate[mode] = chunks / s;
  const lost = runs[mode].map((x) => chunks - x.kept);
  console.log(
    `  appendfsync ${mode}: median ${s.toFixed(2)} s, ${rate[mode].toFixed(0)} chunks/s; lost after SIGKILL per round: ${lost.join(', ')}`,
  );
}
console.log(`always / everysec throughput: ${(rate.always / rate.everysec).toFixed(2)}`);
