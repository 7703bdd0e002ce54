// Issue 7, bench 4 (and 6a): producer ingest with no consumer running, at two dataset
// sizes, to show records/s and that the producer's peak RSS stays flat in dataset size.
// The same run measures Redis bytes per queued record against the records' raw bytes.
// Usage: npm run build && node bench/producer-ingest.mjs [smallMB=100] [largeMB=1000]
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { DATA, ROOT, generateJsonl, machine, parseInfo, peakRssMiB, startService } from './lib.mjs';

const sizesMB = [Number(process.argv[2] ?? 100), Number(process.argv[3] ?? 1000)];
const BYTES_PER_RECORD = 47; // generateJsonl's records average ~47 bytes
const { startLocalRedis } = await import(pathToFileURL(path.join(ROOT, 'dist', 'cli', 'local-redis.js')).toString());

console.log(`machine: ${machine()}`);
for (const mb of sizesMB) {
  const records = Math.round((mb * 1e6) / BYTES_PER_RECORD);
  const file = await generateJsonl(path.join(DATA, `ingest-${records}.jsonl`), records);
  const rawBytes = (await stat(file)).size;
  const redis = await startLocalRedis();
  const client = new Redis(redis.url);
  const before = parseInfo(await client.info('memory')).used_memory;
  const { child, port } = await startService('producer', {
    REDIS_URL: redis.url,
    DATASET_ALLOWED_SCHEMES: 'file',
    OUTPUT_URL: pathToFileURL(path.join(DATA, 'ingest-out')).toString(),
    PORT: '0',
    LOG_LEVEL: 'info',
  });
  const res = await fetch(`http://127.0.0.1:${port}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ datasetUrl: pathToFileURL(file).toString() }),
  });
  const { id } = await res.json();
  let view;
  for (;;) {
    view = await (await fetch(`http://127.0.0.1:${port}/v1/batches/${id}`)).json();
    if (view.status !== 'ingesting') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const rss = peakRssMiB(child.pid);
  const seconds = (Date.parse(view.ingestedAt) - Date.parse(view.createdAt)) / 1000;
  const used = parseInfo(await client.info('memory')).used_memory - before;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await client.quit();
  await redis.stop();
  console.log(
    `${(rawBytes / 1e6).toFixed(0)} MB, ${view.records.total} records, ${view.chunks.total} chunks: ingest ${seconds.toFixed(1)} s → ` +
      `${Math.round(view.records.total / seconds)} records/s; producer peak RSS ${rss.toFixed(0)} MiB; ` +
      `Redis ${(used / view.records.total).toFixed(1)} bytes per queued record vs ${(rawBytes / view.records.total).toFixed(1)} raw ` +
      `(${(used / rawBytes).toFixed(2)}×)`,
  );
}
