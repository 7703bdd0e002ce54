// Issue 7, bench 1: `batchinfer run` on a generated 1M-record JSONL (4 features, sum model)
// against the raw single-process loop (bench/raw-loop.mjs) on the same file, writing parts of
// the same chunk size, alternating, REPEATS times each; reports medians and the ratio pipeline / raw.
// Usage: npm run build && node bench/pipeline-vs-raw.mjs [records=1000000] [repeats=3] [-- extra run args]
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CLI, DATA, ROOT, generateJsonl, machine, measure } from './lib.mjs';

const dash = process.argv.indexOf('--');
const args = dash === -1 ? process.argv.slice(2) : process.argv.slice(2, dash);
const extra = dash === -1 ? [] : process.argv.slice(dash + 1);
const records = Number(args[0] ?? 1_000_000);
const repeats = Number(args[1] ?? 3);
const file = await generateJsonl(path.join(DATA, `e2e-${records}.jsonl`), records);
const out = path.join(DATA, 'pvr-out');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const raw = [];
const pipeline = [];
let peaks = [];
let chunkSize;
for (let i = 0; i < repeats; i++) {
  await rm(out, { recursive: true, force: true });
  const p = await measure(process.execPath, [CLI, 'run', file, '--output', out, '--json', ...extra]);
  if (p.code !== 0) throw new Error(`run failed (${p.code})`);
  const summary = JSON.parse(p.stdout);
  if (summary.records.succeeded !== records) throw new Error(`run predicted ${summary.records.succeeded} of ${records}`);
  pipeline.push(p.wallS);
  peaks = p.peaks;
  // The raw loop writes the same parts: a part per chunk of the size `run` used (it picks
  // one from the dataset when --chunk-size is not given), so neither writes more files.
  chunkSize = summary.chunkSize;
  await rm(out, { recursive: true, force: true });
  const r = await measure(process.execPath, [path.join(ROOT, 'bench', 'raw-loop.mjs'), file, out, String(chunkSize)]);
  if (r.code !== 0) throw new Error('raw loop failed');
  raw.push(r.wallS);
}
await rm(out, { recursive: true, force: true });
const rawS = median(raw);
const pipeS = median(pipeline);
console.log(`machine: ${machine()}`);
console.log(`dataset: ${records} records; run args: ${extra.join(' ') || '(defaults)'}; chunk size ${chunkSize} (both)`);
console.log(
  `raw loop:  median ${rawS.toFixed(2)} s of [${raw.map((x) => x.toFixed(2)).join(', ')}] → ${Math.round(records / rawS)} records/s`,
);
console.log(
  `pipeline:  median ${pipeS.toFixed(2)} s of [${pipeline.map((x) => x.toFixed(2)).join(', ')}] → ${Math.round(records / pipeS)} records/s`,
);
console.log(`ratio pipeline / raw: ${(pipeS / rawS).toFixed(2)}× (target ≤ 1.5×, stretch ≤ 1.0×)`);
for (const p of peaks) console.log(`peak RSS ${p.name}: ${(p.hwmKb / 1024).toFixed(0)} MiB`);
