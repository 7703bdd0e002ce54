/** Variables of the cost model and of the exporter (budgets, schedules, its page). */
import { ConfigError } from '../errors.js';
import { parseCpuQuantity, parseMemoryQuantityGiB } from './quantity.js';
import { nonNegativeNumbers, parseJsonObject, raw, readNumber, readString } from './readers.js';
import type { Env } from './readers.js';
import { decimal, int, parsed, section } from './variable.js';

const WORKERS = ['consumer', 'run'] as const;

function readCpuLimit(env: Env): number {
  const text = readString(env, 'CPU_LIMIT', '500m');
  const cores = parseCpuQuantity(text);
  if (cores === undefined) throw new ConfigError('CPU_LIMIT', `expected a CPU quantity like 500m or 2, got '${text}'`);
  return cores;
}

function readMemoryLimit(env: Env): number {
  const text = readString(env, 'MEMORY_LIMIT', '512Mi');
  const gib = parseMemoryQuantityGiB(text);
  if (gib === undefined) throw new ConfigError('MEMORY_LIMIT', `expected a memory quantity like 512Mi or 1Gi, got '${text}'`);
  return gib;
}

function readTeamBudgets(env: Env): Record<string, number> {
  const value = raw(env, 'TEAM_BUDGETS_USD');
  if (value === undefined) return {};
  return nonNegativeNumbers('TEAM_BUDGETS_USD', parseJsonObject('TEAM_BUDGETS_USD', value, '{"risk": 100}'));
}

const DEFAULT_SCHEDULE_MAX_INTERVAL_SECONDS = 25 * 3600;

export interface ScheduleMaxInterval {
  defaultSeconds: number;
  bySchedule: Record<string, number>;
}

function readScheduleMaxInterval(env: Env): ScheduleMaxInterval {
  const name = 'SCHEDULE_MAX_INTERVAL_SECONDS';
  const value = raw(env, name);
  if (value === undefined) return { defaultSeconds: DEFAULT_SCHEDULE_MAX_INTERVAL_SECONDS, bySchedule: {} };
  if (!value.startsWith('{')) return { defaultSeconds: readNumber(env, name, DEFAULT_SCHEDULE_MAX_INTERVAL_SECONDS, 1), bySchedule: {} };
  const { '*': fallback, ...bySchedule } = nonNegativeNumbers(name, parseJsonObject(name, value, '{"nightly": 90000, "*": 7200}'));
  return { defaultSeconds: fallback ?? DEFAULT_SCHEDULE_MAX_INTERVAL_SECONDS, bySchedule };
}

export const COST_VARIABLES = {
  costPerCpuHour: decimal('COST_PER_CPU_HOUR', { services: WORKERS, default: 0.04, doc: 'USD per CPU core hour.' }),
  costPerMemoryGbHour: decimal('COST_PER_MEMORY_GB_HOUR', { services: WORKERS, default: 0.005, doc: 'USD per GiB of memory per hour.' }),
  costPerGpuHour: decimal('COST_PER_GPU_HOUR', {
    services: WORKERS,
    default: 0,
    doc: "USD per GPU hour: your provider's price for the accelerator the consumers request (docs/cost.md).",
  }),
  gpuLimit: int('GPU_LIMIT', {
    services: WORKERS,
    default: 0,
    min: 0,
    max: 64,
    doc: 'GPUs each consumer pod holds, priced per chunk: set it to the pod\'s `resources.limits["nvidia.com/gpu"]` (`k8s/components/gpu` does). 0: no GPU cost.',
  }),
  cpuLimitCores: parsed('CPU_LIMIT', {
    services: WORKERS,
    doc: "The consumer's CPU limit, priced per chunk: set it to the pod's `resources.limits.cpu`.",
    accepts: 'a Kubernetes CPU quantity (`500m`, `2`)',
    shownDefault: '`500m`',
    read: readCpuLimit,
  }),
  memoryLimitGiB: parsed('MEMORY_LIMIT', {
    services: WORKERS,
    doc: "The consumer's memory limit, priced per chunk: set it to the pod's `resources.limits.memory`.",
    accepts: 'a Kubernetes memory quantity (`512Mi`, `1Gi`, `1G`)',
    shownDefault: '`512Mi`',
    read: readMemoryLimit,
  }),
} as const;

export const EXPORTER_VARIABLES = {
  teamBudgetsUsd: parsed('TEAM_BUDGETS_USD', {
    services: ['exporter'],
    doc: "Monthly budget per team in USD; the exporter publishes this calendar month's (UTC) cost over it as `batchinfer_budget_used_ratio{team}`.",
    accepts: 'a JSON object of team to USD, e.g. `{"risk": 100, "fraud": 250}`',
    shownDefault: '`{}` (no budgets)',
    read: readTeamBudgets,
  }),
  scheduleMaxInterval: parsed('SCHEDULE_MAX_INTERVAL_SECONDS', {
    services: ['exporter'],
    doc: 'Longest expected gap between two batches of a schedule, after which the "scheduled run missed" alert fires.',
    note: 'A number for every schedule, or JSON per schedule with `*` as the default: `{"nightly": 90000, "hourly-sync": 4500, "*": 90000}`.',
    accepts: 'seconds (>= 1), or a JSON object of schedule name to seconds',
    shownDefault: `\`${DEFAULT_SCHEDULE_MAX_INTERVAL_SECONDS}\` (25 h)`,
    read: readScheduleMaxInterval,
  }),
  metricLabelValuesMax: int('METRIC_LABEL_VALUES_MAX', {
    services: ['producer', 'exporter', 'run'],
    default: 100,
    min: 1,
    max: 100_000,
    doc: 'Distinct values each cost label (`team`, `project`, `model`) may take in the metrics; values first seen after the cap are published as `other` (docs/operations.md). Set the same value on the producer and the exporter.',
  }),
  exporterSampleSeconds: int('EXPORTER_SAMPLE_SECONDS', {
    services: ['exporter'],
    default: 5,
    min: 1,
    max: 3600,
    doc: "How often the exporter samples Redis for its page's charts.",
  }),
  exporterHistorySeconds: int('EXPORTER_HISTORY_SECONDS', {
    services: ['exporter'],
    default: 3600,
    min: 60,
    max: 7 * 24 * 3600,
    doc: "How much history the exporter's page keeps, in memory.",
  }),
} as const;

export const COST_SECTION = section(
  'Cost',
  'Allocated cost of a chunk = wall seconds × (CPU cores × `COST_PER_CPU_HOUR` + memory GiB × `COST_PER_MEMORY_GB_HOUR` + GPUs × `COST_PER_GPU_HOUR`) / 3600. ' +
    'The CPU seconds a chunk actually used are measured and reported beside it. Consumers write cost to Redis; the exporter publishes it.',
  COST_VARIABLES,
);

export const EXPORTER_SECTION = section(
  'Exporter',
  'The exporter reads the queue and the accounting from Redis for `/metrics`, its JSON API and its page.',
  EXPORTER_VARIABLES,
);
