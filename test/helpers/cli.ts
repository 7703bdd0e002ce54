/** Runs the built CLI as users and the image do (`dist/bundle/cli.js`): a separate process with its own env. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cli/local-redis.js';
import { LogSink } from './log-sink.js';
import { waitUntil } from './wait-until.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist', 'bundle', 'cli.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for child processes: the parent's, minus anything that would leak into tests. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(REDIS_URL|QUEUE_PREFIX|OUTPUT_URL|API_TOKEN|K_SINK|K_CE_OVERRIDES|OTEL_.*|LOG_LEVEL|MODEL|MODEL_ROOT|CHUNK_SIZE)$/.test(key))
      delete env[key];
  }
  env.OTEL_TRACES_EXPORTER = 'none';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(options.env), cwd: options.cwd ?? ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`batchinfer ${args.join(' ')} timed out\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 90_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface RunningService {
  process: ChildProcess;
  port: number;
  url: string;
  logs: LogSink;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `batchinfer <command>` on a free port and waits for its /healthz. */
export async function startService(command: string, env: Record<string, string | undefined>): Promise<RunningService> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, command], { env: cleanEnv({ PORT: String(port), ...env }), cwd: ROOT });
  const logs = new LogSink();
  child.stdout.on('data', logs.write);
  child.stderr.on('data', logs.write);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`${command} exited early: ${logs.text()}`);
      const res = await fetch(`${url}/healthz`).catch(() => undefined);
      return res?.ok;
    },
    { timeoutMs: 20_000, what: `${command} /healthz` },
  );
  return {
    process: child,
    port,
    url,
    logs,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
