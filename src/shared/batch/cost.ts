/**
 * Cost of a chunk, from the reference lab's formula:
 *
 *   allocated USD = wall seconds × (cpu cores × $/cpu-hour + memory GiB × $/GiB-hour) / 3600
 *
 * A consumer that works on `concurrency` chunks at once splits its pod's allocation between
 * them, so the sum over chunks never exceeds what the pod costs. The CPU seconds actually
 * used are measured beside it; used / allocated CPU seconds is the efficiency.
 */

export interface CostRates {
  cpuLimitCores: number;
  memoryLimitGiB: number;
  costPerCpuHour: number;
  costPerMemoryGbHour: number;
}

export interface ChunkCost {
  /** Allocated cost in USD. */
  usd: number;
  /** CPU seconds allocated to the chunk (wall seconds × cores / concurrency). */
  allocatedCpuSeconds: number;
}

export function chunkCost(wallSeconds: number, rates: CostRates, concurrency = 1): ChunkCost {
  const share = wallSeconds / Math.max(1, concurrency);
  const usdPerSecond = (rates.cpuLimitCores * rates.costPerCpuHour + rates.memoryLimitGiB * rates.costPerMemoryGbHour) / 3600;
  return { usd: share * usdPerSecond, allocatedCpuSeconds: share * rates.cpuLimitCores };
}

/** Used over allocated CPU seconds, or null when nothing was allocated yet. */
export function cpuEfficiency(usedCpuSeconds: number, allocatedCpuSeconds: number): number | null {
  return allocatedCpuSeconds > 0 ? usedCpuSeconds / allocatedCpuSeconds : null;
}

/** The calendar month (UTC, `YYYY-MM`) a cost is booked in, for monthly team budgets. */
export function costMonth(at: Date = new Date()): string {
  return at.toISOString().slice(0, 7);
}

/** Monthly team cost is kept a little over a year, for month-over-month comparisons. */
export const MONTH_COST_TTL_SECONDS = 400 * 24 * 3600;
