/**
 * The exporter's `/metrics`, on prom-client. Names, types, labels and help text are the ones
 * the KEDA query, the Grafana dashboard and the alert rules use (see README). Cost and
 * records carry `team`, `project` and `model` labels, never a batch id (cardinality).
 *
 * A scrape reads Redis once (the {@link SnapshotSource}'s pipelined reads, 2 round trips
 * whatever the number of batches), then prom-client runs each family's `collect` callback,
 * which sets the family's values from that one snapshot. BullMQ's own families
 * (`bullmq_job_completed_total`, `bullmq_job_failed_total`) are appended as BullMQ wrote them.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { QUEUE_DEPTH_METRIC, SCALE_QUERY } from '../shared/scaling.js';
import type { Accounting } from './accounting-reader.js';
import { FINAL_STATUSES } from './accounting-reader.js';
import { budgetUse } from './budgets.js';
import { scheduleStates } from './schedules.js';
import type { ScheduleSettings } from './schedules.js';
import type { Snapshot, SnapshotSource } from './snapshot.js';
import { histogramSamples, StoredMetric } from './stored-metric.js';
import type { Labels, StoredSample } from './stored-metric.js';

export interface MetricSettings {
  teamBudgetsUsd: Readonly<Record<string, number>>;
  scheduleMaxInterval: ScheduleSettings;
}

type Rows = readonly { labels: Labels; value: number }[];
type Read = (snapshot: Snapshot) => Rows;

const byReason = (counts: Record<string, number>): Rows =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reason, value]) => ({ labels: { reason }, value }));

const costLabels = (row: { team: string; project: string; model: string }): Labels => ({
  team: row.team,
  project: row.project,
  model: row.model,
});

function costSamples(pick: (row: Accounting['cost'][number]) => number): (snapshot: Snapshot) => StoredSample[] {
  return ({ accounting }) => accounting.cost.map((row) => ({ labels: costLabels(row), value: pick(row) }));
}

/** The metrics registry, its families reading `current()` when collected. */
function buildRegistry(current: () => Snapshot, settings: MetricSettings): Registry {
  const registry = new Registry();
  const registers = [registry];

  const gauge = (name: string, help: string, labelNames: readonly string[], read: Read): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect(this: Gauge) {
        this.reset();
        for (const { labels, value } of read(current())) this.set(labels, value);
      },
    });
  };
  const counter = (name: string, help: string, labelNames: readonly string[], read: Read): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect(this: Counter) {
        this.reset();
        // Redis' totals only grow; a negative one (a bug elsewhere) is shown as 0, not a failed scrape.
        for (const { labels, value } of read(current())) this.inc(labels, Math.max(0, value));
      },
    });
  };
  const stored = (name: string, help: string, type: 'counter' | 'histogram', read: (snapshot: Snapshot) => StoredSample[]): void => {
    new StoredMetric({ name, help, type, collect: () => read(current()) }).registerIn(registry);
  };
  const queue = (s: Snapshot): Labels => ({ queue: s.queue.name });

  gauge(
    QUEUE_DEPTH_METRIC,
    `Chunks waiting, prioritized or being processed: the autoscaling metric (KEDA: ${SCALE_QUERY}).`,
    ['queue'],
    (s) => [{ labels: queue(s), value: s.queue.depth }],
  );
  gauge('batchinfer_queue_jobs', 'Chunks in the queue by BullMQ state.', ['queue', 'state'], (s) =>
    Object.entries(s.queue.counts).map(([state, value]) => ({ labels: { ...queue(s), state }, value })),
  );
  gauge(
    'batchinfer_queue_oldest_waiting_age_seconds',
    'How long the oldest waiting chunk has waited in its current attempt.',
    ['queue'],
    (s) => [{ labels: queue(s), value: s.queue.oldestWaitingAgeSeconds }],
  );
  gauge('batchinfer_consumers', 'Consumers alive (heartbeat in the last 30 s).', [], (s) => [
    { labels: {}, value: s.accounting.consumers },
  ]);

  stored(
    'batchinfer_chunk_wait_seconds',
    'Per-attempt wait of a chunk, from runnable to taken by a consumer (retries do not add up).',
    'histogram',
    (s) => histogramSamples('batchinfer_chunk_wait_seconds', s.accounting.wait),
  );
  stored('batchinfer_chunk_processing_seconds', 'Per-attempt processing time of a chunk.', 'histogram', (s) =>
    histogramSamples('batchinfer_chunk_processing_seconds', s.accounting.processing),
  );

  stored('batchinfer_records_total', 'Records processed, by outcome (succeeded, failed) and cost labels.', 'counter', (s) =>
    s.accounting.records.map((r) => ({ labels: { outcome: r.outcome, ...costLabels(r) }, value: r.records })),
  );
  counter('batchinfer_chunk_failures_total', 'Chunks that failed after all their attempts, by reason.', ['reason'], (s) =>
    byReason(s.accounting.chunkFailures),
  );
  counter('batchinfer_chunk_retries_total', 'Chunk attempts that failed and were retried or handed back, by reason.', ['reason'], (s) =>
    byReason(s.accounting.chunkRetries),
  );

  gauge(
    'batchinfer_batches',
    'Batches by status: in progress now (ingesting, running); finished and still known to the status API (completed, failed, cancelled).',
    ['status'],
    ({ accounting: { batches } }) => [
      { labels: { status: 'ingesting' }, value: batches.ingesting },
      { labels: { status: 'running' }, value: batches.running },
      ...FINAL_STATUSES.map((status) => ({ labels: { status }, value: batches.retained[status] })),
    ],
  );
  counter('batchinfer_batches_created_total', 'Batches created.', [], (s) => [{ labels: {}, value: s.accounting.batches.created }]);
  counter('batchinfer_batches_finished_total', 'Batches that reached a final status.', ['status'], (s) =>
    FINAL_STATUSES.map((status) => ({ labels: { status }, value: s.accounting.batches.finishedTotal[status] })),
  );
  gauge('batchinfer_batch_oldest_active_age_seconds', 'Age of the oldest batch still ingesting or running (0 if none).', [], (s) => {
    const created = s.accounting.batches.oldestActiveCreatedMs;
    return [{ labels: {}, value: created === null ? 0 : Math.max(0, s.atMs - created) / 1000 }];
  });

  stored(
    'batchinfer_cost_usd_total',
    'Allocated cost (limits x wall time) of chunk attempts, USD.',
    'counter',
    costSamples((r) => r.usd),
  );
  stored(
    'batchinfer_cpu_seconds_total',
    'CPU seconds chunk attempts actually used.',
    'counter',
    costSamples((r) => r.cpuSeconds),
  );
  stored(
    'batchinfer_allocated_cpu_seconds_total',
    'CPU seconds allocated to chunk attempts (limit x wall time); used / allocated is the efficiency.',
    'counter',
    costSamples((r) => r.allocatedCpuSeconds),
  );

  const budgets = (s: Snapshot): ReturnType<typeof budgetUse> => budgetUse(settings.teamBudgetsUsd, s.accounting.teamMonthCostUsd);
  gauge('batchinfer_budget_usd', 'Monthly budget per team, USD (TEAM_BUDGETS_USD).', ['team'], (s) =>
    budgets(s).map((b) => ({ labels: { team: b.team }, value: b.budgetUsd })),
  );
  gauge('batchinfer_budget_spent_usd', 'Allocated cost of the team this calendar month (UTC), USD.', ['team'], (s) =>
    budgets(s).map((b) => ({ labels: { team: b.team }, value: b.spentUsd })),
  );
  gauge('batchinfer_budget_used_ratio', "This calendar month's cost over the team's monthly budget.", ['team'], (s) =>
    budgets(s).map((b) => ({ labels: { team: b.team }, value: b.usedRatio })),
  );

  const schedules = (s: Snapshot): ReturnType<typeof scheduleStates> =>
    scheduleStates(s.accounting.scheduleStarts, settings.scheduleMaxInterval);
  gauge('batchinfer_schedule_last_start_timestamp_seconds', 'When each schedule last started a batch, Unix seconds.', ['schedule'], (s) =>
    schedules(s).map((x) => ({ labels: { schedule: x.schedule }, value: x.lastStartSeconds })),
  );
  gauge(
    'batchinfer_schedule_max_interval_seconds',
    'Longest expected gap between two batches of a schedule (SCHEDULE_MAX_INTERVAL_SECONDS).',
    ['schedule'],
    (s) => schedules(s).map((x) => ({ labels: { schedule: x.schedule }, value: x.maxIntervalSeconds })),
  );
  return registry;
}

/** `/metrics`: one Redis read per scrape (shared with concurrent scrapes), rendered by prom-client. */
export class ExporterMetrics {
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly registry: Registry;
  private current: Snapshot | undefined;
  /** Scrapes render one at a time, so a scrape's families all come from the same snapshot. */
  private rendering: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly snapshots: Pick<SnapshotSource, 'get'>,
    settings: MetricSettings,
  ) {
    this.registry = buildRegistry(() => {
      if (!this.current) throw new Error('metrics collected outside a scrape');
      return this.current;
    }, settings);
  }

  render(): Promise<string> {
    const next = this.rendering.then(async () => {
      const snapshot = await this.snapshots.get();
      this.current = snapshot;
      try {
        const text = await this.registry.metrics();
        const bullmq = snapshot.queue.bullmqText.trim();
        return bullmq === '' ? text : `${text}\n${bullmq}\n`;
      } finally {
        this.current = undefined;
      }
    });
    this.rendering = next.catch(() => undefined);
    return next;
  }
}
