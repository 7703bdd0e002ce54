// Issue 7, bench 6b: Redis operations per chunk for a whole `batchinfer run` (producer,
// consumers, status polling), from INFO commandstats before and after, by command.
// Usage: npm run build && node bench/redis-ops.mjs [records=200000] [chunkSize=1000]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { CLI, DATA, ROOT, commandStats, generateJsonl, machine, measure } from './lib.mjs';

const records = Number(process.argv[2] ?? 200_000);
const chunkSize = Number(process.argv[3] ?? 1000);
const { startLocalRedis } = await import(pathToFileURL(path.join(ROOT, 'dist', 'cli', 'local-redis.js')).toString());
const file = await generateJsonl(path.join(DATA, `e2e-${records}.jsonl`), records);
const redis = await startLocalRedis();
const client = new Redis(redis.url);

const before = await commandStats(client);
const out = path.join(DATA, 'ops-out');
const result = await measure(process.execPath, [CLI, 'run', file, '--output', out, '--chunk-size', String(chunkSize), '--json'], {
  env: { ...process.env, REDIS_URL: redis.url },
});
if (result.code !== 0) throw new Error('run failed');
const after = await commandStats(client);
const chunks = JSON.parse(result.stdout).chunks.total;
const delta = Object.entries(after)
  .map(([cmd, n]) => [cmd, n - (before[cmd] ?? 0)])
  .filter(([cmd, n]) => n > 0 && cmd !== 'info')
  .sort((a, b) => b[1] - a[1]);
const total = delta.reduce((sum, [, n]) => sum + n, 0);
console.log(`machine: ${machine()}`);
console.log(`${records} records, ${chunks} chunks: ${total} Redis commands → ${(total / chunks).toFixed(1)} per chunk`);
console.log(delta.map(([cmd, n]) => `  ${cmd}: ${(n / chunks).toFixed(2)} per chunk`).join('\n'));
await client.quit();
await redis.stop();
await rm(out, { recursive: true, force: true });
