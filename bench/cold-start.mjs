// Issue 7, bench 3: consumer cold start — what scale-from-zero costs a user. A one-chunk
// batch waits in the queue; then `batchinfer consumer` is spawned with tracing on
// (exporting to a local OTLP/HTTP receiver) and we time process start → "consumer ready"
// log line → the chunk done (batch completed). Median of RUNS runs.
// Usage: npm run build && node bench/cold-start.mjs [runs=5]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT, machine } from './lib.mjs';

const runs = Number(process.argv[2] ?? 5);
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

let spans = 0;
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    spans++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ready = [];
const done = [];
for (let i = 0; i < runs; i++) {
  const { id } = await service.submit(parseBatchRequest({ datasetUrl: pathToFileURL(dataset).toString() }, { config }));
  while ((await store.get(id)).status !== 'running') await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  let tReady;
  const child = spawn(process.execPath, [CLI, 'consumer'], {
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      OUTPUT_URL: outputUrl,
      PORT: '0',
      LOG_LEVEL: 'info',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
      OTEL_SERVICE_NAME: 'bench-consumer',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.setEncoding('utf8').on('data', (d) => {
    if (tReady === undefined && d.includes('consumer ready')) tReady = performance.now() - t0;
  });
  while ((await store.get(id)).status !== 'completed') await new Promise((r) => setTimeout(r, 2));
  const tDone = performance.now() - t0;
  ready.push(tReady ?? NaN);
  done.push(tDone);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
await queue.close();
await conn.quit();
await redis.stop();
receiver.close();
console.log(`machine: ${machine()}`);
console.log(`runs: ${runs}, 1 chunk of 1000 records, tracing on (OTLP/HTTP to a local receiver; ${spans} export requests received)`);
console.log(`start → ready:            median ${median(ready).toFixed(0)} ms [${ready.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(
  `start → first chunk done: median ${median(done).toFixed(0)} ms [${done.map((x) => x.toFixed(0)).join(', ')}] (target ≤ 500 ms)`,
);
