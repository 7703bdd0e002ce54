// Shared bench helpers: dataset generation and process-tree peak-RSS sampling (Linux /proc).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DATA = path.join(ROOT, 'bench', 'data');
export const CLI = path.join(ROOT, 'dist', 'bundle', 'cli.js');

/** Writes `count` reference-format JSONL records with 4 features (deterministic). */
export async function generateJsonl(file, count) {
  await mkdir(path.dirname(file), { recursive: true });
  if (existsSync(file)) return file;
  const out = createWriteStream(file);
  let buf = '';
  for (let i = 1; i <= count; i++) {
    buf += `{"id": ${i}, "features": [${(i % 97) / 10}, ${(i % 13) * 1.5}, ${i % 7}, ${(i % 1000) / 100}]}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise((r) => out.once('finish', r));
  return file;
}

function children(pid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      /* exited */
    }
  }
  return out;
}

function describe(pid) {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    const name = cmd.includes('consumer') ? 'consumer' : cmd.includes('run') ? 'run (producer)' : path.basename(cmd[0] ?? '?');
    return { name, hwmKb: hwm };
  } catch {
    return undefined;
  }
}

/**
 * Runs a command, sampling the peak RSS (VmHWM) of it and every descendant every 100 ms.
 * Returns wall time, exit code, stdout, and peak RSS per process.
 */
export function measure(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    const peaks = new Map();
    const sample = () => {
      const queue = [child.pid];
      while (queue.length) {
        const pid = queue.pop();
        const info = describe(pid);
        if (info) {
          const prev = peaks.get(pid);
          peaks.set(pid, { ...info, hwmKb: Math.max(prev?.hwmKb ?? 0, info.hwmKb) });
        }
        queue.push(...children(pid));
      }
    };
    const timer = setInterval(sample, 100);
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(timer);
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ code, wallS, stdout, peaks: [...peaks.values()] });
    });
  });
}

export const machine = () =>
  `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;

/** Peak RSS (VmHWM) of a live process, in MiB. */
export function peakRssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Starts `batchinfer <command>` with env; resolves once it logged its ready line. */
export function startService(command, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      buffer += d;
      const match = /"port":(\d+)[^\n]*ready/.exec(buffer);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${command} exited ${code}: ${buffer}`)));
  });
}

/** Parses `INFO` output into a flat object of numbers and strings. */
export function parseInfo(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#'))
      out[line.slice(0, i)] = Number.isNaN(Number(line.slice(i + 1))) ? line.slice(i + 1) : Number(line.slice(i + 1));
  }
  return out;
}

/** Calls per Redis command so far (`INFO commandstats`; commands run inside scripts count too). */
export async function commandStats(client) {
  const stats = {};
  for (const line of (await client.info('commandstats')).split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m) stats[m[1]] = Number(m[2]);
  }
  return stats;
}
