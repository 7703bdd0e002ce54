import { describe, expect, it } from 'vitest';
import { chunkCost, cpuEfficiency } from '../../src/shared/batch/cost.js';
import { parseCpuQuantity, parseMemoryQuantityGiB } from '../../src/shared/config/quantity.js';

const lab = { cpuLimitCores: 0.5, memoryLimitGiB: 0.5, costPerCpuHour: 0.04, costPerMemoryGbHour: 0.005 };

describe('cost', () => {
  it('follows the reference formula: wall × (cpu × $/cpu-h + mem × $/GB-h) / 3600', () => {
    // One hour at 500m / 512Mi: 0.5 × 0.04 + 0.5 × 0.005 = $0.0225.
    expect(chunkCost(3600, lab).usd).toBeCloseTo(0.0225, 12);
    expect(chunkCost(3600, lab).allocatedCpuSeconds).toBe(1800);
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
