// Issue 7 bench 3, issue 15: consumer cold start — what scale-from-zero costs a user. A
// one-chunk batch (1000 records) waits in the queue; then `batchinfer consumer` is spawned
// and we time process start → "consumer ready" log line → the chunk done (batch completed).
// Each round measures, in turn and on the same machine at the same moment:
//   bare node        `node -e 0`, start → exit: the floor any Node process pays;
//   tracing off      the consumer with no OTel configuration (no SDK loaded);
//   tracing on       the consumer with NodeSDK exporting over OTLP/HTTP protobuf to a local
//                    receiver (checked: a run whose SIGTERM flush exported nothing fails);
//   no compile cache (Node ≥ 22.1) tracing on with NODE_DISABLE_COMPILE_CACHE=1.
// The compile cache lives in a fresh directory, warmed as the image warms its own at build
// time (scripts/warm-compile-cache.mjs); one unmeasured run first warms the disk cache.
// Medians of RUNS rounds, and the ratio to bare node, which is what survives a loaded
// machine; CPU time (user + system) is what it inflates least.
// Usage: npm run build && node bench/cold-start.mjs [runs=5]
//   COLD_START_BUNDLES="name=path/to/cli.js,..."  also time these bundles, tracing on, no
//                    compile cache (bench/cold-start-steps.mjs builds one per step)
//   COLD_START_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"  node flags for the consumers
import { spawn } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import module from 'node:module';
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
const { SplitLineLedger } = await dist('shared/batch/split-lines.js');
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
const service = new BatchService({
  queue,
  store,
  closer: new BatchCloser(store, logger, config.outputUrl, new SplitLineLedger(conn, prefix, 3600)),
  config,
  logger,
});

const baseEnv = { ...process.env, REDIS_URL: redis.url, QUEUE_PREFIX: prefix, OUTPUT_URL: outputUrl, PORT: '0', LOG_LEVEL: 'info' };
// The chunk is a byte-range split of a local file, which the consumer reads itself.
baseEnv.DATASET_ALLOWED_SCHEMES = 'file';
for (const name of Object.keys(baseEnv)) if (name.startsWith('OTEL_')) delete baseEnv[name];
const TRACING_ON = {
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  OTEL_SERVICE_NAME: 'bench-consumer',
};

/** CPU time (user + system) a live process has used so far, ms: what a loaded machine inflates least. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
}

/** Spawn → exit of `node -e 0`, and the CPU time it reports using (all but its exit). */
async function bareNode() {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', 'const u = process.cpuUsage(); process.stdout.write(String((u.user + u.system) / 1000))'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  await new Promise((r) => child.once('exit', r));
  return { wall: performance.now() - t0, cpu: Number(out) };
}

/** Spawn → ready line and spawn → batch completed of a consumer with one chunk waiting. */
async function consumer(extraEnv, cli = CLI) {
  const { id } = await service.submit(parseBatchRequest({ datasetUrl: pathToFileURL(dataset).toString() }, { config }));
  while ((await store.get(id)).status !== 'running') await new Promise((r) => setTimeout(r, 5));
  const exportsBefore = exports;
  const t0 = performance.now();
  let ready = NaN;
  const child = spawn(process.execPath, [...nodeArgs, cli, 'consumer'], {
    env: { ...baseEnv, ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.setEncoding('utf8').on('data', (d) => {
    if (Number.isNaN(ready) && d.includes('consumer ready')) ready = performance.now() - t0;
  });
  while ((await store.get(id)).status !== 'completed') await new Promise((r) => setTimeout(r, 2));
  const done = performance.now() - t0;
  const cpu = cpuMs(child.pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  // The SIGTERM flush must have exported the chunk's spans.
  if (extraEnv.OTEL_TRACES_EXPORTER && exports === exportsBefore) throw new Error('tracing on, but nothing was exported');
  return { ready, done, cpu };
}

const NO_CACHE = { NODE_DISABLE_COMPILE_CACHE: '1' };
const variants = [
  { name: 'tracing off', env: {} },
  { name: 'tracing on', env: TRACING_ON },
  ...('enableCompileCache' in module ? [{ name: 'tracing on, no compile cache', env: { ...TRACING_ON, ...NO_CACHE } }] : []),
  ...(process.env.COLD_START_BUNDLES ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const [name, cli] = entry.split('=');
      return { name: `${name}, tracing on`, env: { ...TRACING_ON, ...NO_CACHE }, cli: path.resolve(cli) };
    }),
];
// Warmed the way the image warms its own (scripts/warm-compile-cache.mjs), not by a run.
baseEnv.NODE_COMPILE_CACHE = await mkdtemp(path.join(os.tmpdir(), 'bi-compile-cache-'));
if ('enableCompileCache' in module) {
  const warm = spawn(process.execPath, [path.join(ROOT, 'scripts', 'warm-compile-cache.mjs'), path.dirname(CLI)], {
    env: baseEnv,
    stdio: 'ignore',
  });
  if ((await new Promise((r) => warm.once('exit', r))) !== 0) throw new Error('warm-compile-cache.mjs failed');
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(0).padStart(4)} ms [${xs.map((x) => x.toFixed(0)).join(', ')}]`;
const bareRuns = [];
const bareCpu = [];
const results = variants.map(() => ({ ready: [], done: [], cpu: [] }));
await consumer({ ...TRACING_ON, ...NO_CACHE }); // warms the disk cache; not counted
for (const v of variants) if (v.cli) await consumer(v.env, v.cli);
for (let i = 0; i < runs; i++) {
  const bareRun = await bareNode();
  bareRuns.push(bareRun.wall);
  bareCpu.push(bareRun.cpu);
  for (const [j, v] of variants.entries()) {
    const { ready, done, cpu } = await consumer(v.env, v.cli);
    results[j].ready.push(ready);
    results[j].done.push(done);
    results[j].cpu.push(cpu);
  }
}
await queue.close();
await conn.quit();
await redis.stop();
receiver.close();
const bare = median(bareRuns);
const width = Math.max(...variants.map((v) => v.name.length));
console.log(
  `machine: ${machine()}; load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(`runs: ${runs}, 1 chunk of 1000 records; node args: ${nodeArgs.join(' ') || 'none'}`);
console.log(`${'bare node (node -e 0)'.padEnd(width)}  start → exit:            ${fmt(bareRuns)}`);
console.log(`${'bare node (node -e 0)'.padEnd(width)}  CPU time:                ${fmt(bareCpu)}`);
for (const [j, v] of variants.entries()) {
  const { ready, done, cpu } = results[j];
  console.log(`${v.name.padEnd(width)}  start → ready:           ${fmt(ready)}`);
  console.log(`${v.name.padEnd(width)}  start → first chunk done: ${fmt(done)} = ${(median(done) / bare).toFixed(2)}× bare node`);
  console.log(`${v.name.padEnd(width)}  CPU time to chunk done:  ${fmt(cpu)}`);
}
