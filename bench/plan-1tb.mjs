// Issue 14 (splits): plans a synthetic partition (default 1 TB in 1,000 objects of 1 GB)
// against a real Redis, with the producer's own planner and split window: no data exists, each
// object answers stat and its 256 KiB sample from memory. Measures planning time, the Redis
// bytes of the stored plan and of the first window (what a batch holds in Redis), and, for
// comparison, the time, bytes and commands of queueing every split, for docs/scaling.md.
// Usage: npm run build && node bench/plan-1tb.mjs [objects=1000] [objectGB=1] [chunkSize=100000] [bytesPerRecord=100] [window=1024]
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { ROOT, commandStats, machine, parseInfo } from './lib.mjs';

const [objects = 1000, objectGB = 1, chunkSize = 100_000, bytesPerRecord = 100, window = 1024] = process.argv.slice(2).map(Number);
const load = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).toString());
const { startLocalRedis } = await load('cli/local-redis.js');
const { planObject, plannedObject } = await load('producer/split-planner.js');
const { SplitWindow } = await load('shared/batch/split-window.js');
const { createChunkQueue } = await load('shared/events/chunk-queue.js');
const { BatchStore } = await load('shared/batch/batch-store.js');

const objectBytes = Math.round(objectGB * 1e9);
// One record line of about bytesPerRecord bytes; the sample is made of them.
const line = (i) => {
  const head = `{"id": ${i}, "features": [`;
  return head + '1.5, '.repeat(Math.max(1, Math.floor((bytesPerRecord - head.length - 3) / 5))).slice(0, -2) + ']}\n';
};
const sample = Buffer.from(Array.from({ length: Math.ceil((256 * 1024) / bytesPerRecord) + 1 }, (_, i) => line(i)).join(''));
/** A source that knows sizes and versions and serves only the start of each object. */
const syntheticSource = {
  schemes: ['synthetic'],
  admit: async () => {},
  stat: async () => ({ size: objectBytes, version: 'etag:"synthetic"', rangeable: true }),
  open: async (_url, options) => ({
    stream: Readable.from([sample.subarray(options.range.start, options.range.end)]),
    version: 'etag:"synthetic"',
  }),
};

const redis = await startLocalRedis();
const client = new Redis(redis.url, { maxRetriesPerRequest: null });
const prefix = '{batchinfer}';
const store = new BatchStore(client, prefix, 3600);
const queue = createChunkQueue(client, { prefix, attempts: 3, backoffMs: 1000 });
const request = { datasetUrl: 'synthetic://lake/part/', format: 'jsonl', model: 'sum', chunkSize, outputUrl: 'file:///out', labels: {} };
await store.create('b1', request);
const before = parseInfo(await client.info('memory')).used_memory;
const commandsBefore = await commandStats(client);
const splitWindow = new SplitWindow(client, queue, prefix, 3600);
const usedNow = async () => parseInfo(await client.info('memory')).used_memory;

const t0 = performance.now();
const plans = [];
for (let i = 0; i < objects; i++) {
  const url = new URL(`synthetic://lake/part/object-${String(i).padStart(5, '0')}.jsonl`);
  plans.push(
    await planObject({
      source: syntheticSource,
      url,
      stat: await syntheticSource.stat(),
      format: 'jsonl',
      chunkSize,
      maxLineBytes: 1 << 20,
      fileIndex: i,
      options: { signal: new AbortController().signal, idleTimeoutMs: 1000, allowPrivateNetworks: false },
    }),
  );
}
const planMs = performance.now() - t0;
const splits = plans.reduce((n, p) => n + p.count, 0);
const objectsOf = plans.map(plannedObject);
const planSpec = {
  batchId: 'b1',
  format: 'jsonl',
  model: 'sum',
  outputUrl: 'file:///out',
  objects: objectsOf,
  total: splits,
  window,
  attempts: 3,
  backoffMs: 1000,
  recordsPerSplit: chunkSize,
};
const stored = await splitWindow.store(planSpec);
const planBytes = (await usedNow()) - before;
const t1 = performance.now();
await splitWindow.fill(stored, window);
const windowMs = performance.now() - t1;
const windowBytes = (await usedNow()) - before - planBytes;
// For comparison: every split queued at once (INGEST_WINDOW_SPLITS past the split count).
const t2 = performance.now();
await splitWindow.fill(stored, splits);
const allMs = performance.now() - t2;
const used = (await usedNow()) - before - planBytes;
const commandsAfter = await commandStats(client);
const commands = Object.entries(commandsAfter).reduce((n, [k, v]) => n + v - (commandsBefore[k] ?? 0), 0);
const total = objects * objectBytes;
const queued = Math.min(window, splits);
console.log(`machine: ${machine()}`);
console.log(
  `synthetic partition: ${objects} objects × ${objectGB} GB = ${(total / 1e12).toFixed(2)} TB, ~${bytesPerRecord} B/record, chunkSize ${chunkSize}`,
);
console.log(`planning (stat + 256 KiB sample per object): ${planMs.toFixed(0)} ms (${(planMs / objects).toFixed(2)} ms per object)`);
console.log(`splits: ${splits} (${(total / splits / 1e6).toFixed(1)} MB each)`);
console.log(
  `what the batch holds in Redis: the plan ${(planBytes / 1e3).toFixed(0)} kB (${Math.round(planBytes / objects)} bytes per object) + ` +
    `the first window of ${queued} splits ${(windowBytes / 1e6).toFixed(2)} MB (${Math.round(windowBytes / queued)} bytes per split, queued in ${windowMs.toFixed(0)} ms) = ` +
    `${((planBytes + windowBytes) / total).toExponential(2)} bytes per dataset byte`,
);
console.log(
  `every split queued instead: +${(used / 1e6).toFixed(1)} MB = ${Math.round(used / splits)} bytes per split = ${(used / total).toExponential(2)} bytes per dataset byte, ` +
    `in ${((windowMs + allMs) / 1000).toFixed(1)} s (${Math.round(splits / ((windowMs + allMs) / 1000))} splits/s); ${commands} commands (${(commands / splits).toFixed(1)} per split)`,
);
await client.quit();
await redis.stop();
