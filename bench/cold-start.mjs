// Issue 7 bench 3, issue 15: consumer cold start — what scale-from-zero costs a user. A
// one-chunk batch (1000 records) waits in the queue; then `batchinfer consumer` is spawned
// and we time process start → "consumer ready" log line → the chunk done (batch completed).
// Each round measures, in turn, three things on the same machine at the same moment:
//   bare node   `node -e 0`, start → exit: the floor any Node process pays;
//   tracing off the consumer with no OTel configuration (no SDK loaded);
//   tracing on  the consumer with NodeSDK exporting over OTLP/HTTP protobuf to a local
//               receiver (the export is checked: a run that exported nothing fails).
// Medians of RUNS rounds; the ratio to bare node is what survives a loaded machine.
// Usage: npm run build && node bench/cold-start.mjs [runs=5]
//   COLD_START_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"  node flags for the consumer
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT, machine } from './lib.mjs';

const runs = Number(process.argv[2] ?? 5);
const nodeArgs = (process.env.COLD_START_NODE_ARGS ?? '').split(' ').filter(Boolean);
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).toString());
const { startLocalRedis } = await dist('cli/local-redis.js');
const { createRedis } = await dist('shared/redis.js');
const { BatchStore } = await dist('shared/batch/batch-store.js');
const { BatchCloser } = await dist('shared/batch/batch-closer.js');
const { createChunkQueue } = await dist('shared/events/chunk-queue.js');
const { BatchService } = await dist('producer/batch-service.js');
const { parseBatchRequest } = await dist('producer/batch-request.js');
const { loadConfig } = await dist('shared/config/config.js');
const { createLogger } = await dist('shared/observability/logger.js');

let exports = 0;
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url === '/v1/traces') exports++;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const otlp = `http://127.0.0.1:${receiver.address().port}`;

const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-cold-'));
const dataset = path.join(dir, 'one-chunk.jsonl');
await writeFile(dataset, Array.from({ length: 1000 }, (_, i) => JSON.stringify({ id: i, features: [i, 1, 2, 3] })).join('\n') + '\n');
const redis = await startLocalRedis();
const conn = createRedis(redis.url, 'worker');
const prefix = '{cold}';
const outputUrl = pathToFileURL(path.join(dir, 'out')).toString();
const config = { ...loadConfig({ DATASET_ALLOWED_SCHEMES: 'file' }), redisUrl: redis.url, queuePrefix: prefix, outputUrl };
const logger = createLogger({ service: 'bench', level: 'silent' });
const store = new BatchStore(conn, prefix, 3600);
const queue = createChunkQueue(conn, { prefix, attempts: 1 });
const service = new BatchService({ queue, store, closer: new BatchCloser(store, logger, config.outputUrl), config, logger });

const baseEnv = { ...process.env, REDIS_URL: redis.url, QUEUE_PREFIX: prefix, OUTPUT_URL: outputUrl, PORT: '0', LOG_LEVEL: 'info' };
for (const name of Object.keys(baseEnv)) if (name.startsWith('OTEL_')) delete baseEnv[name];
const TRACING_ON = {
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  OTEL_SERVICE_NAME: 'bench-consumer',
};

/** Spawn → exit of `node -e 0`. */
async function bareNode() {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return performance.now() - t0;
}

/** Spawn → ready line and spawn → batch completed of a consumer with one chunk waiting. */
async function consumer(extraEnv) {
  const { id } = await service.submit(parseBatchRequest({ datasetUrl: pathToFileURL(dataset).toString() }, { config }));
  while ((await store.get(id)).status !== 'running') await new Promise((r) => setTimeout(r, 5));
  const exportsBefore = exports;
  const t0 = performance.now();
  let ready = NaN;
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'consumer'], {
    env: { ...baseEnv, ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.setEncoding('utf8').on('data', (d) => {
    if (Number.isNaN(ready) && d.includes('consumer ready')) ready = performance.now() - t0;
  });
  while ((await store.get(id)).status !== 'completed') await new Promise((r) => setTimeout(r, 2));
  const done = performance.now() - t0;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  // The SIGTERM flush must have exported the chunk's spans.
  if (extraEnv === TRACING_ON && exports === exportsBefore) throw new Error('tracing on, but nothing was exported');
  return { ready, done };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms [${xs.map((x) => x.toFixed(0)).join(', ')}]`;
const results = { bare: [], offReady: [], offDone: [], onReady: [], onDone: [] };
await consumer(TRACING_ON); // warm-up (disk cache), not counted
for (let i = 0; i < runs; i++) {
  results.bare.push(await bareNode());
  const off = await consumer({});
  results.offReady.push(off.ready);
  results.offDone.push(off.done);
  const on = await consumer(TRACING_ON);
  results.onReady.push(on.ready);
  results.onDone.push(on.done);
}
await queue.close();
await conn.quit();
await redis.stop();
receiver.close();
const bare = median(results.bare);
const ratio = (xs) => `${(median(xs) / bare).toFixed(2)}× bare node`;
console.log(
  `machine: ${machine()}; load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(`runs: ${runs}, 1 chunk of 1000 records; node args: ${nodeArgs.join(' ') || 'none'}`);
console.log(`bare node (node -e 0), start → exit:   ${fmt(results.bare)}`);
console.log(`tracing off, start → ready:            ${fmt(results.offReady)}`);
console.log(`tracing off, start → first chunk done: ${fmt(results.offDone)} (${ratio(results.offDone)})`);
console.log(`tracing on,  start → ready:            ${fmt(results.onReady)}`);
console.log(`tracing on,  start → first chunk done: ${fmt(results.onDone)} (${ratio(results.onDone)}; target ≤ 500 ms)`);
