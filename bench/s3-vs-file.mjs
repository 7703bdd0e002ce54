// Issue 13: `batchinfer run` from and to a local S3-compatible server (s3rver, in this
// process) against the same run on local files, same data, alternating, REPEATS times each;
// reports medians and the ratio s3 / file. Also what a process pays the first time it
// touches s3:// (importing the AWS SDK chunk of the bundle): milliseconds and RSS, medians.
// Usage: npm run build && node bench/s3-vs-file.mjs [records=200000] [repeats=5] [chunkSize=1000]
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { CLI, DATA, ROOT, generateJsonl, machine, measure } from './lib.mjs';

const records = Number(process.argv[2] ?? 200_000);
const repeats = Number(process.argv[3] ?? 5);
const chunkSize = process.argv[4] ?? '1000';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const file = await generateJsonl(path.join(DATA, `e2e-${records}.jsonl`), records);
const storeDir = await mkdtemp(path.join(os.tmpdir(), 'bench-s3rver-'));
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: storeDir });
const { port } = await server.run();
const endpoint = `http://127.0.0.1:${port}`;
const s3Env = {
  ...process.env,
  AWS_ENDPOINT_URL_S3: endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  S3_FORCE_PATH_STYLE: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const client = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
const body = readFileSync(file);
await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'in.jsonl', Body: body, ContentLength: body.length }));

const out = path.join(DATA, 's3-vs-file-out');
const times = { file: [], s3: [] };
async function once(kind) {
  await rm(out, { recursive: true, force: true });
  const args =
    kind === 'file'
      ? ['run', file, '--output', out, '--chunk-size', chunkSize, '--json']
      : ['run', 's3://bench/in.jsonl', '--output', 's3://bench/out', '--chunk-size', chunkSize, '--json'];
  const r = await measure(process.execPath, [CLI, ...args], { env: kind === 's3' ? s3Env : process.env });
  if (r.code !== 0) throw new Error(`${kind} run failed (${r.code})`);
  const summary = JSON.parse(r.stdout);
  if (summary.records.succeeded !== records) throw new Error(`${kind} run predicted ${summary.records.succeeded} of ${records}`);
  times[kind].push(r.wallS);
}
for (let i = 0; i < repeats; i++) {
  // Alternate which goes first, so neither always runs on a warmer machine.
  for (const kind of i % 2 === 0 ? ['file', 's3'] : ['s3', 'file']) await once(kind);
}
await rm(out, { recursive: true, force: true });
client.destroy();
await server.close();
await rm(storeDir, { recursive: true, force: true });

// The SDK chunk of the bundle, imported in a fresh process: what a first s3:// request costs on top.
const chunk = readdirSync(path.join(ROOT, 'dist', 'bundle')).find((name) => /^s3-store-.*\.js$/.test(name));
const probe = `
const before = process.memoryUsage().rss; const t = performance.now();
await import(${JSON.stringify(path.join(ROOT, 'dist', 'bundle', chunk ?? 'missing.js'))});
console.log(JSON.stringify({ ms: performance.now() - t, rssMiB: (process.memoryUsage().rss - before) / 2 ** 20 }));`;
const imports = [];
for (let i = 0; i < 7; i++) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', env: s3Env });
  if (r.status !== 0) throw new Error(r.stderr);
  imports.push(JSON.parse(r.stdout));
}

const fileS = median(times.file);
const s3S = median(times.s3);
const fmt = (xs) => xs.map((x) => x.toFixed(2)).join(', ');
console.log(`machine: ${machine()}`);
console.log(
  `dataset: ${records} records (${(body.length / 2 ** 20).toFixed(1)} MiB), --chunk-size ${chunkSize}, s3rver in the bench process`,
);
console.log(`file → file: median ${fileS.toFixed(2)} s of [${fmt(times.file)}] → ${Math.round(records / fileS)} records/s`);
console.log(`s3 → s3:     median ${s3S.toFixed(2)} s of [${fmt(times.s3)}] → ${Math.round(records / s3S)} records/s`);
console.log(`ratio s3 / file: ${(s3S / fileS).toFixed(2)}×`);
console.log(
  `importing the AWS SDK chunk (${chunk}): median ${median(imports.map((x) => x.ms)).toFixed(0)} ms, ` +
    `+${median(imports.map((x) => x.rssMiB)).toFixed(0)} MiB RSS (7 fresh processes); never paid by a process that does not touch s3://`,
);
