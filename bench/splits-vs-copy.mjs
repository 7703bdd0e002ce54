// Issue 14 (splits): the producer queues a dataset with no consumer running, on the split
// path (the default: a window of splits queued, consumers queue the rest), on the split path
// with every split queued, and on the copy path (INGEST_SPLITS=false with no window: every
// record travels in Redis, as before splits), in the same run and on the same file. Reports Redis bytes per dataset byte, the
// producer's peak RSS and time to queue; then consumers drain the split batch and the
// outputs are checked (every id exactly once). Also the streaming fallback (the same file
// gzipped): Redis holds a window of chunks (INGEST_WINDOW_CHUNKS), not the dataset.
// Usage: npm run build && node bench/splits-vs-copy.mjs [records=4000000]
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { createGzip } from 'node:zlib';
import { Redis } from 'ioredis';
import { CLI, DATA, ROOT, generateJsonl, machine, parseInfo, peakRssMiB } from './lib.mjs';

const records = Number(process.argv[2] ?? 4_000_000);
const { startLocalRedis } = await import(pathToFileURL(path.join(ROOT, 'dist', 'cli', 'local-redis.js')).toString());
const file = await generateJsonl(path.join(DATA, `ingest-${records}.jsonl`), records);
const gz = `${file}.gz`;
await stat(gz).catch(() => pipeline(createReadStream(file), createGzip(), createWriteStream(gz)));
const rawBytes = (await stat(file)).size;
const out = path.join(DATA, 'splits-out');

function service(cli, command, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      buffer += d;
      if (buffer.length > 1 << 16) buffer = buffer.slice(-4096);
      const match = /"port":(\d+)[^\n]*ready/.exec(buffer);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${command} exited ${code}`)));
  });
}
const stop = async (child) => {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
};
const view = async (port, id) => (await fetch(`http://127.0.0.1:${port}/v1/batches/${id}`)).json();

/** Submits `dataset` with no consumer; waits until queued (or, with a window, until it waits at it). */
async function queue(cli, dataset, label, { drain = false, env = {} } = {}) {
  const redis = await startLocalRedis();
  const client = new Redis(redis.url);
  const before = parseInfo(await client.info('memory')).used_memory;
  const base = {
    REDIS_URL: redis.url,
    DATASET_ALLOWED_SCHEMES: 'file',
    OUTPUT_URL: pathToFileURL(out).toString(),
    PORT: '0',
    LOG_LEVEL: 'warn',
    ...env,
  };
  const producer = await service(cli, 'producer', { ...base, LOG_LEVEL: 'info' });
  const res = await fetch(`http://127.0.0.1:${producer.port}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ datasetUrl: pathToFileURL(dataset).toString() }),
  });
  const { id } = await res.json();
  const started = Date.now();
  let v;
  let peakUsed = 0;
  for (let stable = 0; ;) {
    v = await view(producer.port, id);
    peakUsed = Math.max(peakUsed, parseInfo(await client.info('memory')).used_memory - before);
    if (v.status !== 'ingesting') break;
    // A windowed ingest never finishes without consumers: stop once it has stopped growing.
    if (
      env.INGEST_WINDOW_CHUNKS &&
      Number(env.INGEST_WINDOW_CHUNKS) < 1e6 &&
      v.chunks.enqueued >= Number(env.INGEST_WINDOW_CHUNKS) &&
      ++stable > 10
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = v.ingestedAt ? (Date.parse(v.ingestedAt) - Date.parse(v.createdAt)) / 1000 : (Date.now() - started) / 1000;
  const rss = peakRssMiB(producer.child.pid);
  console.log(
    `${label}: ${v.chunks.enqueued} chunks planned or queued in ${seconds.toFixed(2)} s; Redis +${(peakUsed / 1e6).toFixed(1)} MB = ` +
      `${(peakUsed / rawBytes).toFixed(4)} bytes per dataset byte; producer peak RSS ${rss.toFixed(0)} MiB`,
  );
  if (drain) {
    await rm(out, { recursive: true, force: true });
    const t0 = Date.now();
    // Info level: service() waits for the ready line.
    const consumers = await Promise.all([
      service(cli, 'consumer', { ...base, LOG_LEVEL: 'info' }),
      service(cli, 'consumer', { ...base, LOG_LEVEL: 'info' }),
    ]);
    while (!['completed', 'failed'].includes((v = await view(producer.port, id)).status)) await new Promise((r) => setTimeout(r, 200));
    const ids = new Set();
    let lines = 0;
    const folder = path.join(out, id);
    for (const name of (await readdir(folder)).filter((n) => n.startsWith('part-'))) {
      for (const line of (await readFile(path.join(folder, name), 'utf8')).split('\n')) {
        if (line === '') continue;
        lines++;
        ids.add(JSON.parse(line).id);
      }
    }
    const once = lines === records && ids.size === records;
    console.log(
      `${label}, drained by 2 consumers in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${v.status}, ${lines} predictions, ` +
        `${ids.size} distinct ids of ${records} → ${once ? 'every record exactly once' : 'MISMATCH'}; records.total ${v.records.total}`,
    );
    await Promise.all(consumers.map((c) => stop(c.child)));
    if (!once) process.exitCode = 1;
  }
  await stop(producer.child);
  await client.quit();
  await redis.stop();
  return { used: peakUsed, rss, seconds };
}

console.log(`machine: ${machine()}`);
console.log(`dataset: ${records} records, ${(rawBytes / 1e6).toFixed(1)} MB (${path.relative(ROOT, file)})`);
const splits = await queue(CLI, file, 'split path, window of INGEST_WINDOW_SPLITS=1024 (default)', { drain: !process.env.NO_DRAIN });
const unwindowed = await queue(CLI, file, 'split path, every split queued (INGEST_WINDOW_SPLITS=1000000)', {
  env: { INGEST_WINDOW_SPLITS: '1000000' },
});
// The baseline: the same build copying every record into Redis, as before splits (no window).
const copy = await queue(CLI, file, 'copy path (INGEST_SPLITS=false, INGEST_WINDOW_CHUNKS=1000000)', {
  env: { INGEST_SPLITS: 'false', INGEST_WINDOW_CHUNKS: '1000000' },
});
const ratios = (a, b) =>
  `Redis ${(a.used / b.used).toFixed(4)}×, producer RSS ${(a.rss / b.rss).toFixed(2)}×, time to queue ${(a.seconds / b.seconds).toFixed(3)}×`;
console.log(`ratios windowed split / copy: ${ratios(splits, copy)}`);
console.log(`ratios windowed split / every split queued: ${ratios(splits, unwindowed)}`);
await queue(CLI, gz, 'streaming fallback (gzip), INGEST_WINDOW_CHUNKS=256', { env: { INGEST_WINDOW_CHUNKS: '256' } });
await rm(out, { recursive: true, force: true });
