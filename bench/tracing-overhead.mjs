// Tracing overhead: `batchinfer run` on the same generated JSONL dataset with tracing off
// (OTEL_TRACES_EXPORTER=none) and on (exporting to a local OTLP/HTTP receiver this script
// starts), alternating off/on each round so that drift on a shared machine hits both alike.
// Reports median records/s of each and their ratio, the CPU seconds the whole process tree
// used (less sensitive than wall time to other load on a shared machine), and what the
// receiver got.
// Usage: npm run build && node bench/tracing-overhead.mjs [records=500000] [rounds=3] [protocol=http/protobuf] [recordRatio=0]
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { CLI, DATA, generateJsonl, machine, measure } from './lib.mjs';

const records = Number(process.argv[2] ?? 500_000);
const rounds = Number(process.argv[3] ?? 3);
const protocol = process.argv[4] ?? 'http/protobuf';
const recordRatio = process.argv[5] ?? '0';

/** A local OTLP/HTTP traces receiver: answers 200, counts requests, bytes and (JSON) spans. */
async function startReceiver() {
  const stats = { requests: 0, bytes: 0, spans: 0 };
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      stats.requests++;
      stats.bytes += body.length;
      if (String(req.headers['content-type']).includes('json')) {
        for (const rs of JSON.parse(body.toString('utf8')).resourceSpans ?? []) {
          for (const ss of rs.scopeSpans ?? []) stats.spans += (ss.spans ?? []).length;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        // An empty ExportTraceServiceResponse.
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, stats, close: () => new Promise((r) => server.close(r)) };
}

const file = await generateJsonl(path.join(DATA, `e2e-${records}.jsonl`), records);
const out = path.join(DATA, 'tracing-out');
const receiver = await startReceiver();

const baseEnv = { ...process.env };
for (const key of Object.keys(baseEnv)) if (key.startsWith('OTEL_') || key === 'REDIS_URL' || key === 'LOG_LEVEL') delete baseEnv[key];
const variants = {
  off: { ...baseEnv, OTEL_TRACES_EXPORTER: 'none' },
  on: {
    ...baseEnv,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
    TRACE_RECORD_SAMPLE_RATIO: recordRatio,
  },
};

/** CPU seconds used by this process's reaped descendants so far (Linux /proc, cutime + cstime). */
function childrenCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // fields 16, 17 of stat(5); USER_HZ = 100
}

async function runOnce(name) {
  await rm(out, { recursive: true, force: true });
  const before = { ...receiver.stats };
  const cpuBefore = childrenCpuSeconds();
  const result = await measure(process.execPath, [CLI, 'run', file, '--output', out, '--consumers', '1', '--json'], {
    env: variants[name],
  });
  if (result.code !== 0) throw new Error(`run (${name}) exited ${result.code}`);
  const summary = JSON.parse(result.stdout);
  return {
    name,
    recordsPerSecond: summary.recordsPerSecond,
    wallS: result.wallS,
    cpuS: childrenCpuSeconds() - cpuBefore,
    exportedBytes: receiver.stats.bytes - before.bytes,
    exportedSpans: receiver.stats.spans - before.spans,
  };
}

const results = { off: [], on: [] };
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
    const r = await runOnce(name);
    results[name].push(r);
    console.log(
      `round ${round + 1} ${name.padEnd(3)}: ${Math.round(r.recordsPerSecond)} records/s, process wall ${r.wallS.toFixed(2)} s, CPU ${r.cpuS.toFixed(2)} s` +
        (name === 'on'
          ? `, exported ${(r.exportedBytes / 1024).toFixed(0)} KiB${r.exportedSpans ? ` / ${r.exportedSpans} spans` : ''}`
          : ''),
    );
  }
}
await receiver.close();
await rm(out, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const off = median(results.off.map((r) => r.recordsPerSecond));
const on = median(results.on.map((r) => r.recordsPerSecond));
const offWall = median(results.off.map((r) => r.wallS));
const onWall = median(results.on.map((r) => r.wallS));
console.log(`machine: ${machine()}`);
console.log(`records: ${records}, rounds: ${rounds}, protocol: ${protocol}, record span ratio: ${recordRatio}`);
console.log(`median records/s: off ${Math.round(off)}, on ${Math.round(on)}, on/off ${(on / off).toFixed(3)}`);
console.log(`median process wall: off ${offWall.toFixed(2)} s, on ${onWall.toFixed(2)} s, on/off ${(onWall / offWall).toFixed(3)}`);
const offCpu = median(results.off.map((r) => r.cpuS));
const onCpu = median(results.on.map((r) => r.cpuS));
console.log(
  `median CPU s (run + consumers + redis): off ${offCpu.toFixed(2)}, on ${onCpu.toFixed(2)}, on/off ${(onCpu / offCpu).toFixed(3)}`,
);
