#!/usr/bin/env node
// Chaos drill: one batch through real `batchinfer producer` and two `batchinfer consumer`
// processes on a private redis-server (append-only persistence on, `appendfsync always` as
// the shipped manifests run it), while one consumer is SIGKILLed mid-chunk several times (and
// restarted, as its pod would be) and Redis is restarted cleanly and SIGKILLed. Then it checks
// the output (every record exactly once, counts exact) and the cost (each chunk booked once).
//
//   npm run build && node scripts/chaos.mjs [--records 100000] [--chunk-size 1000] [--window-splits 16]
//       [--kills 3] [--redis-restarts 1] [--redis-kills 1] [--delay-ms 300] [--dataset FILE]
//       [--output DIR] [--json]
//
// Everything runs on 127.0.0.1 and is removed afterwards (except --output). Exit code 0 when
// the batch completed with every record exactly once, 1 otherwise.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'bundle', 'cli.js');

const { values: opts } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    'chunk-size': { type: 'string', default: '1000' },
    'window-splits': { type: 'string', default: '16' },
    kills: { type: 'string', default: '3' },
    'redis-restarts': { type: 'string', default: '1' },
    'redis-kills': { type: 'string', default: '1' },
    'delay-ms': { type: 'string', default: '300' },
    dataset: { type: 'string' },
    output: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  const header = (await readFile(fileURLToPath(import.meta.url), 'utf8')).split('\n').filter((l) => l.startsWith('//'));
  process.stdout.write(`${header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}
const { freePort, startLocalRedis } = await import(pathToFileURL(path.join(ROOT, 'dist', 'cli', 'local-redis.js')).href).catch(() => {
  process.stderr.write('chaos: dist/ is missing; run `npm run build` first (or `npm run chaos`)\n');
  process.exit(2);
});
const RECORDS = Number(opts.records);
const CHUNK_SIZE = Number(opts['chunk-size']);
const KILLS = Number(opts.kills);
const RESTARTS = Number(opts['redis-restarts']);
const REDIS_KILLS = Number(opts['redis-kills']);
const say = (line) => {
  if (!opts.json) process.stdout.write(`${line}\n`);
};

/** Reference-format JSONL, ids `r<line>`, every 997th line malformed (a record error). */
async function generate(file, count) {
  const out = createWriteStream(file);
  for (let line = 1; line <= count; line++) {
    const text = line % 997 === 0 ? '{"id": broken' : JSON.stringify({ id: `r${line}`, features: [line % 10, (line * 7) % 13, 0.5] });
    if (!out.write(`${text}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Ids of the dataset's well-formed records and the line numbers of its malformed ones. */
async function expectations(file) {
  const ids = new Set();
  const badLines = [];
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file) })) {
    line++;
    if (text.trim() === '') continue;
    try {
      // The record rules of README.md: an id (non-empty string or number) and a non-empty
      // array of finite numbers.
      const { id, features } = JSON.parse(text) ?? {};
      const validId = (typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id));
      const validFeatures =
        Array.isArray(features) && features.length > 0 && features.every((f) => typeof f === 'number' && Number.isFinite(f));
      if (validId && validFeatures) {
        ids.add(id);
        continue;
      }
    } catch {
      /* malformed: a record error */
    }
    badLines.push(line);
  }
  return { ids, badLines };
}

function startService(command, env) {
  const child = spawn(process.execPath, [CLI, command], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  child.exited = once(child, 'exit');
  child.stderrTail = () => stderr;
  return child;
}

async function waitHealthy(port, child) {
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`service exited early: ${child.stderrTail()}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(50);
  }
  throw new Error('service did not become healthy');
}

async function startConsumer(baseEnv) {
  const port = await freePort();
  const child = startService('consumer', { ...baseEnv, PORT: String(port) });
  await waitHealthy(port, child);
  return child;
}

async function status(producerUrl, id) {
  try {
    const res = await fetch(`${producerUrl}/v1/batches/${id}`);
    return res.ok ? await res.json() : undefined;
  } catch {
    return undefined; // Redis restarting: ask again
  }
}

/** Checks the output folder: every expected id exactly once, bad lines once, nothing else. */
async function verify(outputDir, id, expected, view) {
  const dir = path.join(outputDir, id);
  const seen = new Map();
  const errorLines = new Map();
  const strays = [];
  let manifest;
  for (const name of await readdir(dir)) {
    if (/^part-\d+\.jsonl$/.test(name)) {
      for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
        if (!line) continue;
        const { id: rid } = JSON.parse(line);
        seen.set(rid, (seen.get(rid) ?? 0) + 1);
      }
    } else if (/^errors-\d+\.jsonl$/.test(name)) {
      for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
        if (!line) continue;
        const { line: n } = JSON.parse(line);
        errorLines.set(n, (errorLines.get(n) ?? 0) + 1);
      }
    } else if (name === 'manifest.json') manifest = JSON.parse(await readFile(path.join(dir, name), 'utf8'));
    else strays.push(name);
  }
  const problems = [];
  const duplicates = [...seen].filter(([, n]) => n > 1).length;
  const missing = [...expected.ids].filter((rid) => !seen.has(rid)).length;
  const unexpected = [...seen.keys()].filter((rid) => !expected.ids.has(rid)).length;
  if (duplicates) problems.push(`${duplicates} ids predicted more than once`);
  if (missing) problems.push(`${missing} ids never predicted`);
  if (unexpected) problems.push(`${unexpected} unexpected ids`);
  const badOk = expected.badLines.every((l) => errorLines.get(l) === 1) && errorLines.size === expected.badLines.length;
  if (!badOk) problems.push('malformed lines not reported exactly once');
  if (strays.length) problems.push(`stray files: ${strays.join(', ')}`);
  const total = expected.ids.size + expected.badLines.length;
  const r = view.records;
  if (r.total !== total || r.succeeded !== expected.ids.size || r.failed !== expected.badLines.length) {
    problems.push(`status counts ${JSON.stringify(r)} != ${total} in, ${expected.ids.size} ok, ${expected.badLines.length} errors`);
  }
  if (manifest?.total_records !== total) problems.push(`manifest total_records ${manifest?.total_records} != ${total}`);
  return { predictions: [...seen.values()].reduce((a, b) => a + b, 0), recordErrors: errorLines.size, duplicates, missing, problems };
}

/**
 * The cost was booked once per attempt that ran, and each chunk's result once: every booked
 * attempt adds its wall time to the batch's cost and one observation to the processing
 * histogram (same script), so the observations are the chunks plus the attempts that failed
 * and were retried (a SIGKILLed consumer books nothing), and they sum to the batch's wall
 * seconds; the cost counter by label (this prefix holds one batch) equals the batch's cost.
 */
async function costBookedOnce(client, prefix, view) {
  const [histogram, retries, costByLabel] = await Promise.all([
    client.hgetall(`${prefix}:metrics:chunk-processing`),
    client.hgetall(`${prefix}:metrics:chunk-retries`),
    client.hgetall(`${prefix}:metrics:cost-usd`),
  ]);
  const attempts = Number(histogram.count ?? 0);
  const retried = Object.values(retries).reduce((sum, n) => sum + Number(n), 0);
  const labelUsd = Object.values(costByLabel).reduce((sum, n) => sum + Number(n), 0);
  const problems = [];
  if (attempts - retried !== view.chunks.total) problems.push(`${attempts - retried} chunk results booked for ${view.chunks.total} chunks`);
  if (Math.abs(Number(histogram.sum ?? 0) - view.cost.wallSeconds) > 1e-6)
    problems.push(`booked wall ${histogram.sum} s != batch ${view.cost.wallSeconds} s`);
  if (Math.abs(labelUsd - view.cost.usd) > 1e-9) problems.push(`cost by label ${labelUsd} != batch ${view.cost.usd}`);
  return { attempts, retried, usd: view.cost.usd, problems };
}

const work = await mkdtemp(path.join(os.tmpdir(), 'batchinfer-chaos-'));
const outputDir = path.resolve(opts.output ?? path.join(work, 'out'));
await mkdir(outputDir, { recursive: true });
const dataset = opts.dataset ? path.resolve(opts.dataset) : path.join(work, 'dataset.jsonl');
if (!opts.dataset) await generate(dataset, RECORDS);
await writeFile(path.join(work, 'drill.json'), JSON.stringify({ delayMs: Number(opts['delay-ms']) }));

const redis = await startLocalRedis({ persistence: true });
const prefix = `{chaos-${Math.random().toString(36).slice(2, 8)}}`;
const baseEnv = {
  ...process.env,
  REDIS_URL: redis.url,
  QUEUE_PREFIX: prefix,
  OUTPUT_URL: pathToFileURL(outputDir).href,
  DATASET_ALLOWED_SCHEMES: 'file',
  MODEL_ROOT: work,
  CHUNK_SIZE: String(CHUNK_SIZE),
  // A small window: most splits are queued by the consumers being killed, not by the producer.
  INGEST_WINDOW_SPLITS: opts['window-splits'],
  // Short locks: a killed consumer's chunk is taken up again within ~2.5 s.
  CHUNK_LOCK_DURATION_MS: '2000',
  CHUNK_STALLED_INTERVAL_MS: '500',
  CHUNK_MAX_STALLED_COUNT: '10',
  LOG_LEVEL: 'warn',
  OTEL_TRACES_EXPORTER: 'none',
};
const children = [];
const probeRedis = new Redis(redis.url, { maxRetriesPerRequest: null });
const queue = new Queue('chunks', { connection: probeRedis, prefix });
const started = Date.now();
const events = [];
let exitCode = 1;
let summary;
try {
  const producerPort = await freePort();
  const producer = startService('producer', { ...baseEnv, PORT: String(producerPort) });
  children.push(producer);
  await waitHealthy(producerPort, producer);
  const producerUrl = `http://127.0.0.1:${producerPort}`;
  const steady = await startConsumer(baseEnv);
  let victim = await startConsumer(baseEnv);
  children.push(steady, victim);

  const res = await fetch(`${producerUrl}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ datasetUrl: pathToFileURL(dataset).href, model: 'drill:drill.json' }),
  });
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  const { id } = await res.json();
  say(
    `batch ${id}: ${opts.dataset ? path.basename(dataset) : `${RECORDS} records`}, chunks of ${CHUNK_SIZE}; ${KILLS} consumer kill(s), ${RESTARTS} Redis restart(s), ${REDIS_KILLS} Redis SIGKILL(s)`,
  );

  // Faults spread evenly over the batch's chunks, the Redis faults in the middle ones: 3 kills,
  // 1 restart and 1 Redis SIGKILL fall at 17 % kill, 33 % kill, 50 % restart, 67 % Redis
  // SIGKILL, 83 % kill.
  const redisFaults = RESTARTS + REDIS_KILLS;
  const slots = KILLS + redisFaults;
  const firstRedis = Math.floor((slots - redisFaults) / 2);
  const faults = Array.from({ length: slots }, (_, i) => ({
    kind: i < firstRedis || i >= firstRedis + redisFaults ? 'kill' : i < firstRedis + RESTARTS ? 'restart' : 'redis-kill',
    at: (i + 1) / (slots + 1),
  }));

  let view;
  for (;;) {
    view = (await status(producerUrl, id)) ?? view;
    if (view && ['completed', 'failed', 'cancelled'].includes(view.status)) break;
    const next = faults[0];
    const total = view?.chunks.total ?? Math.ceil(RECORDS / CHUNK_SIZE);
    if (next && view && view.chunks.completed >= next.at * total) {
      if (next.kind === 'restart' || next.kind === 'redis-kill') {
        const sigkill = next.kind === 'redis-kill';
        await redis.restart(sigkill ? 'SIGKILL' : 'SIGTERM');
        events.push({ fault: sigkill ? 'redis-sigkill' : 'redis-restart', atChunksDone: view.chunks.completed, ms: Date.now() - started });
        say(
          `  ${((Date.now() - started) / 1000).toFixed(1)} s: Redis ${sigkill ? 'SIGKILLed' : 'restarted'} (${view.chunks.completed} chunks done)`,
        );
        faults.shift();
      } else {
        // Only a kill mid-chunk counts: wait until the victim holds a chunk.
        const held = (await queue.getActive().catch(() => []))
          .filter((job) => job.processedBy?.endsWith(`:${victim.pid}`))
          .map((job) => job.id);
        if (held.length > 0) {
          victim.kill('SIGKILL');
          await victim.exited;
          // What it held and had not completed: a dead process completes nothing more. A kill
          // that came just after its chunks completed does not count; another one follows.
          const active = new Set((await queue.getActive().catch(() => [])).map((job) => job.id));
          const lost = held.filter((jobId) => active.has(jobId));
          if (lost.length > 0) {
            events.push({ fault: 'consumer-sigkill', heldChunks: lost, atChunksDone: view.chunks.completed, ms: Date.now() - started });
            const chunks = lost.map((jobId) => jobId.slice(jobId.lastIndexOf('-') + 1)).join(', ');
            say(
              `  ${((Date.now() - started) / 1000).toFixed(1)} s: consumer SIGKILLed mid-chunk (holding chunks ${chunks}; ${view.chunks.completed} chunks done)`,
            );
            faults.shift();
          }
          victim = await startConsumer(baseEnv); // its pod restarts it
          children.push(victim);
        }
      }
    }
    await sleep(50);
  }
  const wallSeconds = (Date.now() - started) / 1000;
  say(`batch ${view.status} in ${wallSeconds.toFixed(1)} s; checking the output...`);
  const check = await verify(outputDir, id, await expectations(dataset), view);
  check.cost = await costBookedOnce(probeRedis, prefix, view);
  check.problems.push(...check.cost.problems);
  const applied = {
    kills: events.filter((e) => e.fault === 'consumer-sigkill').length,
    redisRestarts: events.filter((e) => e.fault === 'redis-restart').length,
    redisKills: events.filter((e) => e.fault === 'redis-sigkill').length,
  };
  if (applied.kills < KILLS || applied.redisRestarts < RESTARTS || applied.redisKills < REDIS_KILLS)
    check.problems.push('the batch ended before every fault was applied (raise --delay-ms)');
  if (view.status !== 'completed') check.problems.push(`batch ${view.status}: ${view.error ?? ''}`);
  const ok = check.problems.length === 0;
  summary = {
    id,
    status: view.status,
    ok,
    output: outputDir,
    wallSeconds,
    records: view.records,
    chunks: view.chunks,
    faults: events,
    ...applied,
    check,
  };
  say(`  records: ${view.records.succeeded} predicted + ${view.records.failed} errors = ${view.records.total} in`);
  say(`  exactly once: ${check.duplicates} duplicates, ${check.missing} missing`);
  say(ok ? 'OK: every record exactly once' : `FAILED: ${check.problems.join('; ')}`);
  if (opts.output) say(`output kept in ${path.join(outputDir, id)}`);
  exitCode = ok ? 0 : 1;
} catch (err) {
  summary = { ok: false, error: err instanceof Error ? err.message : String(err), faults: events };
  say(`FAILED: ${summary.error}`);
} finally {
  await queue.close().catch(() => undefined);
  probeRedis.disconnect();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? child.exited : undefined)));
  await redis.stop();
  await rm(work, { recursive: true, force: true });
}
if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(exitCode);
