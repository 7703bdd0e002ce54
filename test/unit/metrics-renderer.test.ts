import { describe, expect, it } from 'vitest';
import type { Accounting } from '../../src/exporter/accounting-reader.js';
import { budgetUse } from '../../src/exporter/budgets.js';
import { renderMetrics } from '../../src/exporter/metrics-renderer.js';
import type { Snapshot } from '../../src/exporter/snapshot.js';
import { cumulate, PROCESSING_BUCKETS, WAIT_BUCKETS } from '../../src/shared/observability/histogram-buckets.js';
import { sampleValue } from '../helpers/metrics-text.js';

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);

function snapshot(over: Partial<Accounting> = {}): Snapshot {
  return {
    atMs: NOW,
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

describe('renderMetrics', () => {
  it('publishes the shared metric names with their labels', () => {
    const text = renderMetrics(snapshot(), settings);
    expect(sampleValue(text, 'batchinfer_queue_depth', { queue: 'chunks' })).toBe(10);
    expect(sampleValue(text, 'batchinfer_queue_jobs', { queue: 'chunks', state: 'delayed' })).toBe(3);
    expect(sampleValue(text, 'batchinfer_queue_oldest_waiting_age_seconds', { queue: 'chunks' })).toBe(42.5);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_bucket', { le: '0.5' })).toBe(3);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_bucket', { le: '0.25' })).toBe(0);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_count')).toBe(3);
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

  it('never labels by batch id', () => {
    expect(renderMetrics(snapshot(), settings)).not.toMatch(/batch_?id=/i);
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
