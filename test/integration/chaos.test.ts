/**
 * The chaos drill (`scripts/chaos.mjs`), as anyone can run it: a 100,000-record batch
 * through a producer and two consumers, one consumer SIGKILLed mid-chunk three times (and
 * restarted), Redis restarted once and SIGKILLed once. The drill checks its own output and
 * that the cost was booked once per chunk; this test checks the output again, independently,
 * with the suite's output invariant.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BatchView } from '../../src/shared/types.js';
import { cleanEnv, ROOT } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';

interface ChaosSummary {
  id: string;
  ok: boolean;
  status: string;
  kills: number;
  redisRestarts: number;
  redisKills: number;
  records: BatchView['records'];
  chunks: BatchView['chunks'];
  faults: { fault: string; heldChunks?: string[] }[];
  check: { problems: string[]; cost: { attempts: number; retried: number; usd: number } };
}

function runChaos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'chaos.mjs'), ...args], { env: cleanEnv(), cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('chaos drill', () => {
  it(
    '100,000 records, a consumer SIGKILLed mid-chunk 3 times, Redis restarted once and SIGKILLed once: every record exactly once, cost once',
    { timeout: 240_000 },
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-chaos-'));
      const data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 100_000, { bad: (line) => line % 1009 === 0 });
      const output = path.join(dir, 'out');
      const run = await runChaos([
        '--dataset',
        data.path,
        '--output',
        output,
        '--kills',
        '3',
        '--redis-restarts',
        '1',
        '--redis-kills',
        '1',
        '--json',
      ]);
      const summary = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as ChaosSummary;
      expect(summary.check?.problems, run.stderr).toEqual([]);
      expect(run.code).toBe(0);
      expect(summary).toMatchObject({ ok: true, status: 'completed', kills: 3, redisRestarts: 1, redisKills: 1 });
      // Each chunk's result booked once (attempts beyond the chunks are retried failures); the
      // planner sizes splits by bytes, so the count is about 100, not exactly.
      expect(summary.chunks.total).toBeGreaterThanOrEqual(90);
      expect(summary.check.cost.attempts - summary.check.cost.retried).toBe(summary.chunks.total);
      expect(summary.check.cost.usd).toBeGreaterThan(0);
      // Every kill hit a consumer in the middle of chunks.
      const kills = summary.faults.filter((f) => f.fault === 'consumer-sigkill');
      for (const kill of kills) expect(kill.heldChunks?.length).toBeGreaterThan(0);

      expect(summary.records.total).toBe(100_000);
      expectEveryRecordOnce(await readBatchOutput(output, summary.id), data.expected, data.badLines, { view: summary });
    },
  );
});
