/**
 * GPU_LIMIT and COST_PER_GPU_HOUR reach what a batch is charged: the real CLI, its own
 * redis-server, the real accounting. No GPU is used (none here): the GPU term prices the
 * limit, not the use, so a CPU model priced as if it held GPUs shows the same arithmetic.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { readBatchOutput } from '../helpers/output.js';

let dir: string;
let dataset: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-gpu-cost-'));
  dataset = path.join(dir, 'data.jsonl');
  await writeFile(dataset, Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: i, features: [i, 1] })).join('\n') + '\n');
});

interface Cost {
  usd: number;
  allocatedCpuSeconds: number;
}

/** Runs the dataset on a 100 ms model under `env`; returns the batch's cost from manifest.json. */
async function costOf(name: string, env: Record<string, string>): Promise<Cost> {
  const out = path.join(dir, name);
  const result = await runCli(['run', dataset, '--model', 'sleep:100', '--output', out, '--json'], { env });
  expect(result.code, result.stderr).toBe(0);
  const { id } = JSON.parse(result.stdout) as { id: string };
  const manifest = (await readBatchOutput(out, id)).manifest as unknown as { cost: Cost };
  return manifest.cost;
}

describe('GPU cost in a batch (batchinfer run, no GPU needed: the limit is priced)', () => {
  it('charges GPU_LIMIT × wall share × COST_PER_GPU_HOUR on top of CPU and memory, and nothing by default', async () => {
    // CPU_LIMIT 1 core: the allocated CPU seconds are the wall share itself.
    const base = { CPU_LIMIT: '1', MEMORY_LIMIT: '1Gi', COST_PER_CPU_HOUR: '0.04', COST_PER_MEMORY_GB_HOUR: '0.005' };
    const cpuOnly = await costOf('cpu', base);
    const share = cpuOnly.allocatedCpuSeconds;
    expect(share).toBeGreaterThan(0);
    expect(cpuOnly.usd).toBeCloseTo((share * 0.045) / 3600, 15);

    const gpu = await costOf('gpu', { ...base, GPU_LIMIT: '2', COST_PER_GPU_HOUR: '3.6' });
    const gpuShare = gpu.allocatedCpuSeconds;
    expect(gpu.usd).toBeCloseTo((gpuShare * (0.045 + 2 * 3.6)) / 3600, 12);
    // Relative to its wall share, the GPU pod costs (0.045 + 7.2) / 0.045 ≈ 161 times the CPU pod.
    expect(gpu.usd / gpuShare / (cpuOnly.usd / share)).toBeCloseTo(7.245 / 0.045, 6);
  });
});
