// Issue 7, bench 2: the naive peer — one BullMQ job per record — against `batchinfer run`
// on the same records, same machine, same run. The peer enqueues with addBulk (1000 jobs a
// round trip, generous to it) and one worker process (concurrency 16) parses, sums and
// appends each prediction to its output file.
// Usage: npm run build && node bench/naive-per-record.mjs [records=100000]
import { fork } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { CLI, DATA, ROOT, generateJsonl, machine, measure } from './lib.mjs';

const QUEUE = 'naive';
const prefix = '{naive}';

if (process.argv[2] === '--worker') {
  // Child: the naive consumer.
  const [, , , redisUrl, outFile] = process.argv;
  const out = createWriteStream(outFile);
  const worker = new Worker(
    QUEUE,
    async (job) => {
      const record = JSON.parse(job.data.line);
      let sum = 0;
      for (const f of record.features) sum += f;
      out.write(JSON.stringify({ id: record.id, prediction: sum }) + '\n');
    },
    { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix, concurrency: 16, removeOnComplete: { count: 0 } },
  );
  process.on('message', async () => {
    await worker.close();
    out.end(() => process.exit(0));
  });
} else {
  const records = Number(process.argv[2] ?? 100_000);
  const { startLocalRedis } = await import(path.join(ROOT, 'dist', 'cli', 'local-redis.js'));
  const file = await generateJsonl(path.join(DATA, `e2e-${records}.jsonl`), records);
  const redis = await startLocalRedis();
  const outFile = path.join(DATA, 'naive-out.jsonl');
  const started = process.hrtime.bigint();
  const child = fork(new URL(import.meta.url).pathname, ['--worker', redis.url, outFile]);
  const queue = new Queue(QUEUE, { connection: { url: redis.url }, prefix });
  let carry = '';
  let jobs = [];
  let n = 0;
  for await (const buf of createReadStream(file, { encoding: 'utf8' })) {
    const lines = (carry + buf).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      jobs.push({ name: 'record', data: { line }, opts: { removeOnComplete: true } });
      n++;
      if (jobs.length === 1000) {
        await queue.addBulk(jobs);
        jobs = [];
      }
    }
  }
  if (jobs.length) await queue.addBulk(jobs);
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
    if (Object.values(counts).every((c) => c === 0)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const naiveS = Number(process.hrtime.bigint() - started) / 1e9;
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  await queue.close();
  await redis.stop();
  await rm(outFile, { force: true });

  const out = path.join(DATA, 'naive-pipeline-out');
  const p = await measure(process.execPath, [CLI, 'run', file, '--output', out, '--json']);
  if (p.code !== 0) throw new Error('run failed');
  await rm(out, { recursive: true, force: true });
  console.log(`machine: ${machine()}`);
  console.log(`records: ${n}`);
  console.log(`naive (one job per record): ${naiveS.toFixed(2)} s → ${Math.round(n / naiveS)} records/s`);
  console.log(`batchinfer run:             ${p.wallS.toFixed(2)} s → ${Math.round(n / p.wallS)} records/s`);
  console.log(`speed-up: ${(naiveS / p.wallS).toFixed(1)}× (target ≥ 20×)`);
}
