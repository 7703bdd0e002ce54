import { describe, expect, it } from 'vitest';
import { chunkCost, cpuEfficiency } from '../../src/shared/batch/cost.js';
import { loadConfig } from '../../src/shared/config/config.js';
import { parseCpuQuantity, parseMemoryQuantityGiB } from '../../src/shared/config/quantity.js';

const lab = { cpuLimitCores: 0.5, memoryLimitGiB: 0.5, costPerCpuHour: 0.04, costPerMemoryGbHour: 0.005 };

describe('cost', () => {
  it('follows the reference formula: wall × (cpu × $/cpu-h + mem × $/GB-h) / 3600', () => {
    // One hour at 500m / 512Mi: 0.5 × 0.04 + 0.5 × 0.005 = $0.0225.
    expect(chunkCost(3600, lab).usd).toBeCloseTo(0.0225, 12);
    expect(chunkCost(3600, lab).allocatedCpuSeconds).toBe(1800);
  });

  it('adds GPU_LIMIT × wall time × COST_PER_GPU_HOUR to the CPU and memory cost', () => {
    // One hour on one GPU at $2.50: the lab's $0.0225 plus $2.50.
    const gpu = { ...lab, gpuLimit: 1, costPerGpuHour: 2.5 };
    expect(chunkCost(3600, gpu).usd).toBeCloseTo(2.5225, 12);
    // Two GPUs cost twice the GPU part; concurrency splits it like the rest.
    expect(chunkCost(3600, { ...gpu, gpuLimit: 2 }).usd).toBeCloseTo(5.0225, 12);
    expect(chunkCost(10, gpu, 2).usd).toBeCloseTo((5 * 2.5225) / 3600, 15);
    // GPUs are not CPU: the allocated CPU seconds (and so the efficiency) do not change.
    expect(chunkCost(3600, gpu).allocatedCpuSeconds).toBe(1800);
  });

  it('costs nothing for GPUs by default: a CPU pod is priced as before', () => {
    const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect([config.gpuLimit, config.costPerGpuHour]).toEqual([0, 0]);
    expect(chunkCost(3600, config).usd).toBeCloseTo(chunkCost(3600, lab).usd, 15);
    // A rate without GPUs, or GPUs without a rate, adds nothing.
    expect(chunkCost(3600, { ...lab, costPerGpuHour: 3 }).usd).toBeCloseTo(0.0225, 12);
    expect(chunkCost(3600, { ...lab, gpuLimit: 1 }).usd).toBeCloseTo(0.0225, 12);
  });

  it('reads GPU_LIMIT as a whole number of GPUs and COST_PER_GPU_HOUR as a non-negative price', () => {
    const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', GPU_LIMIT: '2', COST_PER_GPU_HOUR: '1.2' });
    expect(chunkCost(3600, config).usd).toBeCloseTo(config.cpuLimitCores * 0.04 + config.memoryLimitGiB * 0.005 + 2.4, 12);
    expect(() => loadConfig({ GPU_LIMIT: '0.5' })).toThrow(/GPU_LIMIT/);
    expect(() => loadConfig({ GPU_LIMIT: '-1' })).toThrow(/GPU_LIMIT/);
    expect(() => loadConfig({ COST_PER_GPU_HOUR: '-2' })).toThrow(/COST_PER_GPU_HOUR/);
  });

  it('splits a pod between its concurrent chunks', () => {
    expect(chunkCost(10, lab, 2).usd).toBeCloseTo(chunkCost(5, lab).usd, 15);
  });

  it('reports efficiency as used over allocated CPU seconds', () => {
    expect(cpuEfficiency(0.25, 1)).toBe(0.25);
    expect(cpuEfficiency(1, 0)).toBeNull();
  });

  it('reads Kubernetes quantities', () => {
    expect(parseCpuQuantity('500m')).toBe(0.5);
    expect(parseCpuQuantity('2')).toBe(2);
    expect(parseCpuQuantity('0')).toBeUndefined();
    expect(parseCpuQuantity('half')).toBeUndefined();
    expect(parseMemoryQuantityGiB('512Mi')).toBe(0.5);
    expect(parseMemoryQuantityGiB('2Gi')).toBe(2);
    expect(parseMemoryQuantityGiB('1G')).toBeCloseTo(0.9313, 4);
    expect(parseMemoryQuantityGiB('12XB')).toBeUndefined();
  });
});
