// `npm run bench`: the six issue-7 benchmarks in sequence, each printing its own figures
// (see BENCHMARKS.md for what each measures and its target). Takes ~15 minutes the first
// time (it generates bench/data/, ~1.1 GB), less after. Pass "quick" for smaller sizes.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './lib.mjs';

const quick = process.argv[2] === 'quick';
const benches = [
  ['1. pipeline vs raw loop', 'pipeline-vs-raw.mjs', quick ? ['200000', '3'] : ['1000000', '5']],
  ['2. naive one-job-per-record peer', 'naive-per-record.mjs', quick ? ['20000'] : ['1000000']],
  ['3. consumer cold start', 'cold-start.mjs', ['7']],
  ['4+6a. producer ingest RSS, Redis bytes per record', 'producer-ingest.mjs', quick ? ['20', '100'] : ['100', '1000']],
  ['5. tracing overhead', 'tracing-overhead.mjs', quick ? ['200000', '3'] : ['1000000', '5']],
  ['6b. Redis operations per chunk', 'redis-ops.mjs', quick ? ['50000'] : ['200000']],
];
let failed = 0;
for (const [title, script, args] of benches) {
  process.stdout.write(`\n=== ${title}: node bench/${script} ${args.join(' ')}\n`);
  const { status } = spawnSync(process.execPath, [path.join(ROOT, 'bench', script), ...args], { stdio: 'inherit' });
  if (status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
