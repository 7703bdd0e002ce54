// End-to-end `batchinfer run` on a generated JSONL dataset: wall time, records/s, and the
// peak RSS of every process (the run/producer process, each consumer, redis-server).
// Usage: npm run build && node bench/e2e-run.mjs [records=1000000] [consumers]
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CLI, DATA, generateJsonl, machine, measure } from './lib.mjs';

const records = Number(process.argv[2] ?? 1_000_000);
const consumers = process.argv[3];
const file = await generateJsonl(path.join(DATA, `e2e-${records}.jsonl`), records);
const out = path.join(DATA, 'e2e-out');
await rm(out, { recursive: true, force: true });
const args = [CLI, 'run', file, '--output', out, '--json', ...(consumers ? ['--consumers', consumers] : [])];
const result = await measure(process.execPath, args);
if (result.code !== 0) throw new Error(`run exited ${result.code}`);
const summary = JSON.parse(result.stdout);
console.log(`machine: ${machine()}`);
console.log(`records: ${summary.records.succeeded} ok, ${summary.records.failed} errors, ${summary.chunks.total} chunks`);
console.log(`wall: ${result.wallS.toFixed(2)} s (process start to exit), ${Math.round(records / result.wallS)} records/s`);
for (const p of result.peaks) console.log(`peak RSS ${p.name}: ${(p.hwmKb / 1024).toFixed(0)} MiB`);
await rm(out, { recursive: true, force: true });
