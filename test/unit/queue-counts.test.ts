import { describe, expect, it } from 'vitest';
import { parseBullmqJobCounts, QueueCountsError, withoutFamily } from '../../src/exporter/queue-reader.js';

// What BullMQ 6's Queue.exportPrometheusMetrics writes.
const BULLMQ = `# HELP bullmq_job_count Number of jobs in the queue by state
# TYPE bullmq_job_count gauge
bullmq_job_count{queue="chunks", state="active"} 2
bullmq_job_count{queue="chunks", state="completed"} 0
bullmq_job_count{queue="chunks", state="delayed"} 1
bullmq_job_count{queue="chunks", state="failed"} 4
bullmq_job_count{queue="chunks", state="prioritized"} 3
bullmq_job_count{queue="chunks", state="waiting"} 7
bullmq_job_count{queue="chunks", state="waiting-children"} 0
# HELP bullmq_job_completed_total Total number of completed jobs
# TYPE bullmq_job_completed_total counter
bullmq_job_completed_total{queue="chunks"} 12`;

describe('BullMQ job counts', () => {
  it("reads the counts by state from BullMQ's export", () => {
    expect(parseBullmqJobCounts(BULLMQ)).toEqual({
      active: 2,
      completed: 0,
      delayed: 1,
      failed: 4,
      prioritized: 3,
      waiting: 7,
      'waiting-children': 0,
    });
  });

  it('refuses text without a depth state rather than reporting a depth of 0', () => {
    const text = BULLMQ.split('\n')
      .filter((l) => !l.includes('state="waiting"'))
      .join('\n');
    expect(() => parseBullmqJobCounts(text)).toThrow(QueueCountsError);
  });

  it('drops one family, keeping the others', () => {
    const kept = withoutFamily(BULLMQ, 'bullmq_job_count');
    expect(kept).not.toContain('bullmq_job_count');
    expect(kept).toContain('# TYPE bullmq_job_completed_total counter');
    expect(kept).toContain('bullmq_job_completed_total{queue="chunks"} 12');
  });
});
