/**
 * Cost of a chunk, from the reference lab's formula:
 *
 *   allocated USD = wall seconds × (cpu cores × $/cpu-hour + memory GiB × $/GiB-hour
 *                                   + GPUs × $/GPU-hour) / 3600
 *
 * The GPU term is this project's addition (the lab priced CPU pods only): a GPU is held for
 * the pod's whole life whether the model keeps it busy or not, so it is priced like the CPU
 * limit, by allocation. Without GPUs (the default, 0) the formula is the lab's.
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
  /** GPUs the pod holds (`GPU_LIMIT`). @defaultValue 0 */
  gpuLimit?: number;
  /** USD per GPU hour (`COST_PER_GPU_HOUR`). @defaultValue 0 */
  costPerGpuHour?: number;
}

export interface ChunkCost {
  /** Allocated cost in USD. */
  usd: number;
  /** CPU seconds allocated to the chunk (wall seconds × cores / concurrency). */
  allocatedCpuSeconds: number;
}

export function chunkCost(wallSeconds: number, rates: CostRates, concurrency = 1): ChunkCost {
  const share = wallSeconds / Math.max(1, concurrency);
  const usdPerHour = rates.cpuLimitCores * rates.costPerCpuHour + rates.memoryLimitGiB * rates.costPerMemoryGbHour + gpuCostPerHour(rates);
  const usdPerSecond = usdPerHour / 3600;
  return { usd: share * usdPerSecond, allocatedCpuSeconds: share * rates.cpuLimitCores };
}

/** What the pod's GPUs cost per hour: GPU_LIMIT × COST_PER_GPU_HOUR (0 without GPUs). */
export function gpuCostPerHour(rates: Pick<CostRates, 'gpuLimit' | 'costPerGpuHour'>): number {
  return (rates.gpuLimit ?? 0) * (rates.costPerGpuHour ?? 0);
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
