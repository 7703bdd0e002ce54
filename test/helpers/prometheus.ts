/**
 * A real Prometheus (the Debian `prometheus` binary, installed by scripts/setup.sh) on a
 * free loopback port, scraping the given targets every second and evaluating rules every
 * second, with its data in a temp folder removed afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/cli/local-redis.js';
import { waitUntil } from './wait-until.js';

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
}

export interface TestPrometheus {
  url: string;
  /** An instant query (now, or at `time` in Unix seconds); throws with Prometheus' error on a bad expression. */
  query(expr: string, time?: number): Promise<PromSample[]>;
  alerts(): Promise<PromAlert[]>;
  /** Metric names Prometheus has series for. */
  names(): Promise<string[]>;
  stop(): Promise<void>;
}

interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

export async function startPrometheus(options: { targets: string[]; ruleFiles?: string[] }): Promise<TestPrometheus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-prom-'));
  const port = await freePort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    `rule_files: ${JSON.stringify(options.ruleFiles ?? [])}`,
    'scrape_configs:',
    '  - job_name: batchinfer-exporter',
    '    static_configs:',
    `      - targets: ${JSON.stringify(options.targets)}`,
  ].join('\n');
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, config + '\n');
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok;
    },
    { timeoutMs: 30_000, what: 'prometheus to be ready' },
  );

  async function api<T>(route: string): Promise<T> {
    const res = await fetch(`${url}${route}`);
    const body = (await res.json()) as ApiResponse<T>;
    if (body.status !== 'success') throw new Error(`Prometheus ${route}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  return {
    url,
    async query(expr, time) {
      const data = await api<{
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[] | [number, string];
      }>(`/api/v1/query?query=${encodeURIComponent(expr)}${time === undefined ? '' : `&time=${time}`}`);
      if (data.resultType === 'scalar') {
        const [, v] = data.result as [number, string];
        return [{ metric: {}, value: Number(v) }];
      }
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
        metric: r.metric,
        value: Number(r.value[1]),
      }));
    },
    async alerts() {
      return (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
    },
    async names() {
      return api<string[]>('/api/v1/label/__name__/values');
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
