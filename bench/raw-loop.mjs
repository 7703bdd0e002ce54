// The baseline: one process, no queue. Reads the dataset, parses each line, sums the
// features and writes the same output as the pipeline (part-NNNNN.jsonl of {id, prediction}
// per 1000 records, and errors-NNNNN.jsonl for bad lines).
// Usage: node bench/raw-loop.mjs <dataset.jsonl> <outDir> [chunkSize=1000]
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const [file, outDir, chunkArg] = process.argv.slice(2);
const chunkSize = Number(chunkArg ?? 1000);
await mkdir(outDir, { recursive: true });

let carry = '';
let line = 0;
let chunkIndex = 0;
let inChunk = 0;
let part = '';
let errors = '';
const pending = [];

async function flush() {
  const name = String(chunkIndex).padStart(5, '0');
  if (part) pending.push(writeFile(path.join(outDir, `part-${name}.jsonl`), part));
  if (errors) pending.push(writeFile(path.join(outDir, `errors-${name}.jsonl`), errors));
  if (pending.length > 16) await Promise.all(pending.splice(0));
  part = '';
  errors = '';
  inChunk = 0;
  chunkIndex++;
}

function handle(text) {
  line++;
  inChunk++;
  if (text.trim() === '') return;
  try {
    const record = JSON.parse(text);
    let sum = 0;
    for (const f of record.features) sum += f;
    part += JSON.stringify({ id: record.id, prediction: sum }) + '\n';
  } catch (err) {
    errors += JSON.stringify({ line, error: err.message }) + '\n';
  }
}

for await (const buf of createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
  const text = carry + buf;
  let start = 0;
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
    handle(text.slice(start, nl));
    start = nl + 1;
    if (inChunk === chunkSize) await flush();
  }
  carry = text.slice(start);
}
if (carry) handle(carry);
if (inChunk > 0) await flush();
await Promise.all(pending);
