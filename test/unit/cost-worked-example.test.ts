/**
 * docs/cost.md's worked example, computed with the real formula and the configuration's
 * defaults: when either changes, this fails and the page gets updated with it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chunkCost, cpuEfficiency } from '../../src/shared/batch/cost.js';
import { loadConfig } from '../../src/shared/config/config.js';

const page = readFileSync(new URL('../../docs/cost.md', import.meta.url), 'utf8');
/** A figure as the page prints it, e.g. `**$0.00003125**`. */
const printed = (text: string): void => expect(page, `docs/cost.md shows ${text}`).toContain(`**${text}**`);

describe('docs/cost.md worked example', () => {
  const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1' });
  const rates = {
    cpuLimitCores: config.cpuLimitCores,
    memoryLimitGiB: config.memoryLimitGiB,
    costPerCpuHour: config.costPerCpuHour,
    costPerMemoryGbHour: config.costPerMemoryGbHour,
  };

  it('uses the defaults the page lists', () => {
    expect(rates).toEqual({ cpuLimitCores: 0.5, memoryLimitGiB: 0.5, costPerCpuHour: 0.04, costPerMemoryGbHour: 0.005 });
    expect([config.gpuLimit, config.costPerGpuHour]).toEqual([0, 0]);
    expect(config.consumerConcurrency).toBe(2);
    expect(config.chunkSize).toBe(1000);
  });

  it('prints what chunkCost computes', () => {
    expect(chunkCost(3600, rates).usd).toBeCloseTo(0.0225, 12);
    printed('$0.0225 per hour');
    expect(chunkCost(1, rates).usd).toBeCloseTo(0.00000625, 15);
    printed('$0.00000625 per second');
    const chunk = chunkCost(10, rates, config.consumerConcurrency);
    expect(chunk.usd).toBeCloseTo(0.00003125, 15);
    printed('$0.00003125');
    expect(chunk.allocatedCpuSeconds).toBe(2.5);
    printed('2.5 CPU seconds');
    expect(cpuEfficiency(1.5, chunk.allocatedCpuSeconds)).toBeCloseTo(0.6, 12);
    printed('0.6');
    const chunks = 1_000_000 / config.chunkSize;
    expect(chunks * chunk.usd).toBeCloseTo(0.03125, 12);
    printed('$0.03125');
    expect((chunks * chunk.usd) / 1_000_000).toBeCloseTo(0.00000003125, 18);
    printed('$0.00000003125 per record');
    expect((chunks + 10) * chunk.usd).toBeCloseTo(0.0315625, 12);
    expect(page).toContain('$0.0315625');
  });

  it('prints what chunkCost computes with one GPU at the example price', () => {
    const gpu = { ...rates, gpuLimit: 1, costPerGpuHour: 3.6 };
    expect(page).toContain('`GPU_LIMIT=1`');
    expect(page).toContain('`COST_PER_GPU_HOUR=3.6`');
    expect(chunkCost(3600, gpu).usd).toBeCloseTo(3.6225, 12);
    printed('$3.6225 per hour');
    const chunk = chunkCost(10, gpu, config.consumerConcurrency);
    expect(chunk.usd).toBeCloseTo(0.00503125, 15);
    printed('$0.00503125');
    expect(chunk.allocatedCpuSeconds).toBe(2.5);
    expect(Math.round(chunkCost(3600, gpu).usd / chunkCost(3600, rates).usd)).toBe(161);
    expect(page).toContain('about 161 times');
  });
});
