import { describe, expect, it } from 'vitest';
import type { Accounting } from '../../src/exporter/accounting-reader.js';
import { budgetUse } from '../../src/exporter/budgets.js';
import { ExporterMetrics } from '../../src/exporter/exporter-metrics.js';
import type { Snapshot } from '../../src/exporter/snapshot.js';
import { cumulate, PROCESSING_BUCKETS, WAIT_BUCKETS } from '../../src/shared/observability/histogram-buckets.js';
import { parseMetricsText, sampleValue } from '../helpers/metrics-text.js';

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);

function snapshot(over: Partial<Accounting> = {}, atMs = NOW): Snapshot {
  return {
    atMs,
    queue: {
      name: 'chunks',
      counts: { waiting: 7, prioritized: 1, active: 2, delayed: 3, failed: 4 },
      depth: 10,
      oldestWaitingAgeSeconds: 42.5,
      bullmqText:
        '# HELP bullmq_job_completed_total Total number of completed jobs\n# TYPE bullmq_job_completed_total counter\nbullmq_job_completed_total{queue="chunks"} 12',
    },
    accounting: {
      wait: cumulate({ '0.5': '3', count: '3', sum: '1.2' }, WAIT_BUCKETS),
      processing: cumulate({ '1': '3', count: '3', sum: '2' }, PROCESSING_BUCKETS),
      records: [{ outcome: 'succeeded', team: 'risk', project: '', model: 'sum', records: 300 }],
      chunkFailures: { model_invalid: 2 },
      chunkRetries: {},
      cost: [{ team: 'risk', project: '', model: 'sum', usd: 0.5, cpuSeconds: 10, allocatedCpuSeconds: 20 }],
      batches: {
        ingesting: 1,
        running: 2,
        created: 9,
        finishedTotal: { completed: 5, failed: 1, cancelled: 0 },
        retained: { completed: 4, failed: 1, cancelled: 0 },
        oldestActiveCreatedMs: NOW - 60_000,
      },
      consumers: 3,
      scheduleStarts: { nightly: NOW - 3_600_000 },
      teamMonthCostUsd: { risk: 0.4 },
      month: '2025-06',
      ...over,
    },
  };
}

const settings = { teamBudgetsUsd: { risk: 0.5, idle: 10 }, scheduleMaxInterval: { defaultSeconds: 90000, bySchedule: { nightly: 7200 } } };

/** `/metrics` text for the given snapshots, one scrape each, in order. */
async function render(...snapshots: Snapshot[]): Promise<string[]> {
  let i = 0;
  const metrics = new ExporterMetrics({ get: () => Promise.resolve(snapshots[Math.min(i++, snapshots.length - 1)] as Snapshot) }, settings);
  return Promise.all(snapshots.map(() => metrics.render()));
}

describe('the exporter metrics registry', () => {
  it('publishes the shared metric names with their labels', async () => {
    const [text = ''] = await render(snapshot());
    expect(sampleValue(text, 'batchinfer_queue_depth', { queue: 'chunks' })).toBe(10);
    expect(sampleValue(text, 'batchinfer_queue_jobs', { queue: 'chunks', state: 'delayed' })).toBe(3);
    expect(sampleValue(text, 'batchinfer_queue_oldest_waiting_age_seconds', { queue: 'chunks' })).toBe(42.5);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_bucket', { le: '0.5' })).toBe(3);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_bucket', { le: '0.25' })).toBe(0);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_bucket', { le: '+Inf' })).toBe(3);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_count')).toBe(3);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_sum')).toBe(1.2);
    expect(sampleValue(text, 'batchinfer_records_total', { outcome: 'succeeded', team: 'risk' })).toBe(300);
    expect(sampleValue(text, 'batchinfer_chunk_failures_total', { reason: 'model_invalid' })).toBe(2);
    expect(sampleValue(text, 'batchinfer_cost_usd_total', { team: 'risk', project: '', model: 'sum' })).toBe(0.5);
    expect(sampleValue(text, 'batchinfer_cpu_seconds_total', { team: 'risk' })).toBe(10);
    expect(sampleValue(text, 'batchinfer_batches', { status: 'running' })).toBe(2);
    expect(sampleValue(text, 'batchinfer_batches', { status: 'completed' })).toBe(4);
    expect(sampleValue(text, 'batchinfer_batches_finished_total', { status: 'completed' })).toBe(5);
    expect(sampleValue(text, 'batchinfer_batch_oldest_active_age_seconds')).toBe(60);
    expect(sampleValue(text, 'batchinfer_budget_used_ratio', { team: 'risk' })).toBeCloseTo(0.8, 12);
    expect(sampleValue(text, 'batchinfer_budget_used_ratio', { team: 'idle' })).toBe(0);
    expect(sampleValue(text, 'batchinfer_schedule_last_start_timestamp_seconds', { schedule: 'nightly' })).toBe(NOW / 1000 - 3600);
    expect(sampleValue(text, 'batchinfer_schedule_max_interval_seconds', { schedule: 'nightly' })).toBe(7200);
    expect(sampleValue(text, 'batchinfer_consumers')).toBe(3);
    expect(sampleValue(text, 'bullmq_job_completed_total', { queue: 'chunks' })).toBe(12);
  });

  it('keeps the metric types the dashboard, the alerts and KEDA were written for', async () => {
    const [text = ''] = await render(snapshot());
    const families = Object.fromEntries(parseMetricsText(text).families);
    expect(families).toEqual({
      batchinfer_queue_depth: 'gauge',
      batchinfer_queue_jobs: 'gauge',
      batchinfer_queue_oldest_waiting_age_seconds: 'gauge',
      batchinfer_consumers: 'gauge',
      batchinfer_chunk_wait_seconds: 'histogram',
      batchinfer_chunk_processing_seconds: 'histogram',
      batchinfer_records_total: 'counter',
      batchinfer_chunk_failures_total: 'counter',
      batchinfer_chunk_retries_total: 'counter',
      batchinfer_batches: 'gauge',
      batchinfer_batches_created_total: 'counter',
      batchinfer_batches_finished_total: 'counter',
      batchinfer_batch_oldest_active_age_seconds: 'gauge',
      batchinfer_cost_usd_total: 'counter',
      batchinfer_cpu_seconds_total: 'counter',
      batchinfer_allocated_cpu_seconds_total: 'counter',
      batchinfer_budget_usd: 'gauge',
      batchinfer_budget_spent_usd: 'gauge',
      batchinfer_budget_used_ratio: 'gauge',
      batchinfer_schedule_last_start_timestamp_seconds: 'gauge',
      batchinfer_schedule_max_interval_seconds: 'gauge',
      bullmq_job_completed_total: 'counter',
    });
  });

  it('never labels by batch id', async () => {
    const [text = ''] = await render(snapshot());
    expect(text).not.toMatch(/batch_?id=/i);
  });

  it('publishes every label value as given: quotes, backslashes, newlines, unicode, and values that look like other labels', async () => {
    const hostile = [
      { team: 'a"b', project: 'back\\slash', model: 'new\nline' },
      { team: 'équipe-😀', project: '数据', model: '\\n is not a newline' },
      // prom-client's own series key is `label:value,` joined: these two would be one series there.
      { team: '', project: 'p,team:t', model: 'm' },
      { team: 't,team:', project: 'p', model: 'm' },
    ];
    const [text = ''] = await render(
      snapshot({
        cost: hostile.map((labels, i) => ({ ...labels, usd: i + 1, cpuSeconds: 0, allocatedCpuSeconds: 0 })),
        records: hostile.map((labels, i) => ({ ...labels, outcome: 'succeeded', records: 10 * (i + 1) })),
        scheduleStarts: { 'night"ly\\\n': NOW },
      }),
    );
    for (const [i, labels] of hostile.entries()) {
      expect(sampleValue(text, 'batchinfer_cost_usd_total', labels), JSON.stringify(labels)).toBe(i + 1);
      expect(sampleValue(text, 'batchinfer_records_total', { ...labels, outcome: 'succeeded' }), JSON.stringify(labels)).toBe(10 * (i + 1));
    }
    expect(sampleValue(text, 'batchinfer_schedule_last_start_timestamp_seconds', { schedule: 'night"ly\\\n' })).toBe(NOW / 1000);
    // Every sample is one line: no raw newline escaped a label value.
    for (const line of text.split('\n')) expect(line === '' || /^(#|\w+(\{.*\})? \S+$)/.test(line), line).toBe(true);
  });

  it('drops series that are gone from Redis at the next scrape', async () => {
    const [first = '', second = ''] = await render(snapshot(), snapshot({ chunkFailures: {}, cost: [], scheduleStarts: {} }));
    expect(sampleValue(first, 'batchinfer_chunk_failures_total', { reason: 'model_invalid' })).toBe(2);
    expect(sampleValue(second, 'batchinfer_chunk_failures_total', { reason: 'model_invalid' })).toBeUndefined();
    expect(sampleValue(second, 'batchinfer_cost_usd_total', { team: 'risk' })).toBeUndefined();
    expect(sampleValue(second, 'batchinfer_schedule_max_interval_seconds', { schedule: 'nightly' })).toBeUndefined();
  });

  it("takes every family of a scrape from that scrape's own snapshot", async () => {
    const a = snapshot({ consumers: 1 });
    const b = snapshot({ consumers: 2, batches: { ...a.accounting.batches, created: 99 } }, NOW + 5000);
    const [first = '', second = ''] = await render(a, b);
    expect([sampleValue(first, 'batchinfer_consumers'), sampleValue(first, 'batchinfer_batches_created_total')]).toEqual([1, 9]);
    expect([sampleValue(second, 'batchinfer_consumers'), sampleValue(second, 'batchinfer_batches_created_total')]).toEqual([2, 99]);
  });
});

describe('budgetUse', () => {
  it("divides this month's spend by the budget, infinite for a zero budget with spend", () => {
    expect(budgetUse({ a: 100, b: 0, c: 0 }, { a: 25, b: 1 })).toEqual([
      { team: 'a', budgetUsd: 100, spentUsd: 25, usedRatio: 0.25 },
      { team: 'b', budgetUsd: 0, spentUsd: 1, usedRatio: Infinity },
      { team: 'c', budgetUsd: 0, spentUsd: 0, usedRatio: 0 },
    ]);
  });
});
