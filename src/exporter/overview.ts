/**
 * The JSON behind the exporter's page (`GET /api/v1/overview`): the queue now, the last
 * window's wait quantiles and failure rates, batches in progress with their progress, cost
 * by team against budgets, schedules, and the history for the charts.
 */
import type { BatchView } from '../shared/types.js';
import type { Accounting } from './accounting-reader.js';
import { budgetUse } from './budgets.js';
import type { History, HistoryPoint } from './history.js';
import { pointBetween, sampleOf } from './history.js';
import type { MetricSettings } from './exporter-metrics.js';
import { scheduleStates } from './schedules.js';
import type { Snapshot } from './snapshot.js';

/** Rates and quantiles on the page are over this window. */
export const OVERVIEW_WINDOW_MS = 5 * 60 * 1000;

export interface TeamCost {
  team: string;
  usd: number;
  cpuSeconds: number;
  allocatedCpuSeconds: number;
  /** Used / allocated CPU seconds; null when nothing was allocated. */
  efficiency: number | null;
  /** This calendar month (UTC). */
  monthUsd: number;
  budgetUsd: number | null;
  /** monthUsd / budgetUsd; null without a budget (or a zero budget). */
  budgetUsedRatio: number | null;
}

export interface ActiveBatch {
  id: string;
  status: BatchView['status'];
  labels: Record<string, string>;
  model: string;
  createdAt: string;
  chunks: BatchView['chunks'];
  records: BatchView['records'];
  /** Chunks done over chunks known (all once ingest has ended), 0..1. */
  progress: number;
  costUsd: number;
}

export interface Overview {
  generatedAt: string;
  queue: { name: string; depth: number; counts: Record<string, number>; oldestWaitingAgeSeconds: number };
  consumers: number;
  window: { seconds: number } & Omit<HistoryPoint, 't' | 'depth' | 'waiting' | 'active' | 'consumers'>;
  batches: { counts: Record<string, number>; active: ActiveBatch[] };
  cost: { month: string; teams: TeamCost[] };
  schedules: { schedule: string; lastStart: string; maxIntervalSeconds: number; overdue: boolean }[];
  history: { sampleSeconds: number; windowSeconds: number; points: HistoryPoint[] };
}

function teamCosts(a: Accounting, budgets: Readonly<Record<string, number>>): TeamCost[] {
  const teams = new Map<string, TeamCost>();
  const row = (team: string): TeamCost => {
    let t = teams.get(team);
    if (!t) {
      t = { team, usd: 0, cpuSeconds: 0, allocatedCpuSeconds: 0, efficiency: null, monthUsd: 0, budgetUsd: null, budgetUsedRatio: null };
      teams.set(team, t);
    }
    return t;
  };
  for (const c of a.cost) {
    const t = row(c.team);
    t.usd += c.usd;
    t.cpuSeconds += c.cpuSeconds;
    t.allocatedCpuSeconds += c.allocatedCpuSeconds;
  }
  for (const [team, usd] of Object.entries(a.teamMonthCostUsd)) row(team).monthUsd = usd;
  for (const b of budgetUse(budgets, a.teamMonthCostUsd)) {
    const t = row(b.team);
    t.budgetUsd = b.budgetUsd;
    t.budgetUsedRatio = Number.isFinite(b.usedRatio) && b.budgetUsd > 0 ? b.usedRatio : null;
  }
  for (const t of teams.values()) t.efficiency = t.allocatedCpuSeconds > 0 ? t.cpuSeconds / t.allocatedCpuSeconds : null;
  return [...teams.values()].sort((x, y) => y.monthUsd - x.monthUsd || y.usd - x.usd || x.team.localeCompare(y.team));
}

function activeBatch(view: BatchView): ActiveBatch {
  const known = view.chunks.total ?? view.chunks.enqueued;
  const done = view.chunks.completed + view.chunks.failed;
  return {
    id: view.id,
    status: view.status,
    labels: view.labels,
    model: view.model,
    createdAt: view.createdAt,
    chunks: view.chunks,
    records: view.records,
    progress: known > 0 ? Math.min(1, done / known) : 0,
    costUsd: view.cost.usd,
  };
}

export function buildOverview(
  snapshot: Snapshot,
  active: BatchView[],
  history: History,
  settings: MetricSettings & { sampleSeconds: number },
): Overview {
  const { queue, accounting: a, atMs } = snapshot;
  const now = pointBetween(sampleOf(snapshot), history.before(atMs, OVERVIEW_WINDOW_MS));
  return {
    generatedAt: new Date(atMs).toISOString(),
    queue: { name: queue.name, depth: queue.depth, counts: queue.counts, oldestWaitingAgeSeconds: queue.oldestWaitingAgeSeconds },
    consumers: a.consumers,
    window: {
      seconds: OVERVIEW_WINDOW_MS / 1000,
      waitP50: now.waitP50,
      waitP95: now.waitP95,
      chunkFailureRate: now.chunkFailureRate,
      recordErrorRate: now.recordErrorRate,
      recordsPerSecond: now.recordsPerSecond,
    },
    batches: {
      counts: { ingesting: a.batches.ingesting, running: a.batches.running, ...a.batches.retained },
      active: active.map(activeBatch),
    },
    cost: { month: a.month, teams: teamCosts(a, settings.teamBudgetsUsd) },
    schedules: scheduleStates(a.scheduleStarts, settings.scheduleMaxInterval).map((s) => ({
      schedule: s.schedule,
      lastStart: new Date(s.lastStartSeconds * 1000).toISOString(),
      maxIntervalSeconds: s.maxIntervalSeconds,
      overdue: atMs / 1000 - s.lastStartSeconds > s.maxIntervalSeconds,
    })),
    history: {
      sampleSeconds: settings.sampleSeconds,
      windowSeconds: OVERVIEW_WINDOW_MS / 1000,
      points: history.points(OVERVIEW_WINDOW_MS),
    },
  };
}
