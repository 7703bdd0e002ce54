/**
 * Renders a {@link Snapshot} as the exporter's `/metrics`. Names are the ones the KEDA query,
 * the Grafana dashboard and the alert rules use (see README). Cost and records carry
 * `team`, `project` and `model` labels, never a batch id (cardinality).
 */
import type { Accounting } from './accounting-reader.js';
import { FINAL_STATUSES } from './accounting-reader.js';
import { budgetUse } from './budgets.js';
import { QUEUE_DEPTH_METRIC, SCALE_QUERY } from '../shared/scaling.js';
import { MetricsWriter } from './prometheus-text.js';
import type { Sample } from './prometheus-text.js';
import { scheduleStates } from './schedules.js';
import type { ScheduleSettings } from './schedules.js';
import type { Snapshot } from './snapshot.js';

export interface RenderSettings {
  teamBudgetsUsd: Readonly<Record<string, number>>;
  scheduleMaxInterval: ScheduleSettings;
}

const byReason = (counts: Record<string, number>): Sample[] =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reason, value]) => ({ labels: { reason }, value }));

function costSamples(accounting: Accounting, pick: (row: Accounting['cost'][number]) => number): Sample[] {
  return accounting.cost.map((row) => ({ labels: { team: row.team, project: row.project, model: row.model }, value: pick(row) }));
}

export function renderMetrics(snapshot: Snapshot, settings: RenderSettings): string {
  const { queue, accounting: a, atMs } = snapshot;
  const q = { queue: queue.name };
  const w = new MetricsWriter();

  w.family(QUEUE_DEPTH_METRIC, 'gauge', `Chunks waiting, prioritized or being processed: the autoscaling metric (KEDA: ${SCALE_QUERY}).`, [
    { labels: q, value: queue.depth },
  ]);
  w.family(
    'batchinfer_queue_jobs',
    'gauge',
    'Chunks in the queue by BullMQ state.',
    Object.entries(queue.counts).map(([state, value]) => ({ labels: { ...q, state }, value })),
  );
  w.family('batchinfer_queue_oldest_waiting_age_seconds', 'gauge', 'How long the oldest waiting chunk has waited in its current attempt.', [
    { labels: q, value: queue.oldestWaitingAgeSeconds },
  ]);
  w.family('batchinfer_consumers', 'gauge', 'Consumers alive (heartbeat in the last 30 s).', [{ value: a.consumers }]);

  w.histogram(
    'batchinfer_chunk_wait_seconds',
    'Per-attempt wait of a chunk, from runnable to taken by a consumer (retries do not add up).',
    a.wait,
  );
  w.histogram('batchinfer_chunk_processing_seconds', 'Per-attempt processing time of a chunk.', a.processing);

  w.family(
    'batchinfer_records_total',
    'counter',
    'Records processed, by outcome (succeeded, failed) and cost labels.',
    a.records.map((r) => ({ labels: { outcome: r.outcome, team: r.team, project: r.project, model: r.model }, value: r.records })),
  );
  w.family(
    'batchinfer_chunk_failures_total',
    'counter',
    'Chunks that failed after all their attempts, by reason.',
    byReason(a.chunkFailures),
  );
  w.family(
    'batchinfer_chunk_retries_total',
    'counter',
    'Chunk attempts that failed and were retried or handed back, by reason.',
    byReason(a.chunkRetries),
  );

  w.family(
    'batchinfer_batches',
    'gauge',
    'Batches by status: in progress now (ingesting, running); finished and still known to the status API (completed, failed, cancelled).',
    [
      { labels: { status: 'ingesting' }, value: a.batches.ingesting },
      { labels: { status: 'running' }, value: a.batches.running },
      ...FINAL_STATUSES.map((status) => ({ labels: { status }, value: a.batches.retained[status] })),
    ],
  );
  w.family('batchinfer_batches_created_total', 'counter', 'Batches created.', [{ value: a.batches.created }]);
  w.family(
    'batchinfer_batches_finished_total',
    'counter',
    'Batches that reached a final status.',
    FINAL_STATUSES.map((status) => ({ labels: { status }, value: a.batches.finishedTotal[status] })),
  );
  w.family('batchinfer_batch_oldest_active_age_seconds', 'gauge', 'Age of the oldest batch still ingesting or running (0 if none).', [
    { value: a.batches.oldestActiveCreatedMs === null ? 0 : Math.max(0, atMs - a.batches.oldestActiveCreatedMs) / 1000 },
  ]);

  w.family(
    'batchinfer_cost_usd_total',
    'counter',
    'Allocated cost (limits x wall time) of chunk attempts, USD.',
    costSamples(a, (r) => r.usd),
  );
  w.family(
    'batchinfer_cpu_seconds_total',
    'counter',
    'CPU seconds chunk attempts actually used.',
    costSamples(a, (r) => r.cpuSeconds),
  );
  w.family(
    'batchinfer_allocated_cpu_seconds_total',
    'counter',
    'CPU seconds allocated to chunk attempts (limit x wall time); used / allocated is the efficiency.',
    costSamples(a, (r) => r.allocatedCpuSeconds),
  );

  const budgets = budgetUse(settings.teamBudgetsUsd, a.teamMonthCostUsd);
  w.family(
    'batchinfer_budget_usd',
    'gauge',
    'Monthly budget per team, USD (TEAM_BUDGETS_USD).',
    budgets.map((b) => ({ labels: { team: b.team }, value: b.budgetUsd })),
  );
  w.family(
    'batchinfer_budget_spent_usd',
    'gauge',
    'Allocated cost of the team this calendar month (UTC), USD.',
    budgets.map((b) => ({ labels: { team: b.team }, value: b.spentUsd })),
  );
  w.family(
    'batchinfer_budget_used_ratio',
    'gauge',
    "This calendar month's cost over the team's monthly budget.",
    budgets.map((b) => ({ labels: { team: b.team }, value: b.usedRatio })),
  );

  const schedules = scheduleStates(a.scheduleStarts, settings.scheduleMaxInterval);
  w.family(
    'batchinfer_schedule_last_start_timestamp_seconds',
    'gauge',
    'When each schedule last started a batch, Unix seconds.',
    schedules.map((s) => ({ labels: { schedule: s.schedule }, value: s.lastStartSeconds })),
  );
  w.family(
    'batchinfer_schedule_max_interval_seconds',
    'gauge',
    'Longest expected gap between two batches of a schedule (SCHEDULE_MAX_INTERVAL_SECONDS).',
    schedules.map((s) => ({ labels: { schedule: s.schedule }, value: s.maxIntervalSeconds })),
  );

  // BullMQ's own families (bullmq_job_count, bullmq_job_completed_total, bullmq_job_failed_total).
  w.raw(queue.bullmqText);
  return w.toString();
}
