import { describe, expect, it } from 'vitest';
import { History, pointBetween } from '../../src/exporter/history.js';
import type { HistorySample } from '../../src/exporter/history.js';
import { cumulate } from '../../src/shared/observability/histogram-buckets.js';

const BOUNDS = [1, 10];

function sample(t: number, over: Partial<HistorySample> = {}): HistorySample {
  return {
    t,
    depth: 0,
    waiting: 0,
    active: 0,
    delayed: 0,
    consumers: 0,
    wait: cumulate({}, BOUNDS),
    attempts: 0,
    chunkFailures: 0,
    recordsSucceeded: 0,
    recordsFailed: 0,
    costUsd: 0,
    ...over,
  };
}

describe('exporter history', () => {
  it('computes quantiles, failure rates and throughput over the window', () => {
    const before = sample(0, { wait: cumulate({ '1': '10', count: '10' }, BOUNDS), attempts: 10, recordsSucceeded: 100 });
    const now = sample(10_000, {
      depth: 5,
      wait: cumulate({ '1': '10', '10': '10', count: '20' }, BOUNDS),
      attempts: 20,
      chunkFailures: 1,
      recordsSucceeded: 190,
      recordsFailed: 10,
    });
    const p = pointBetween(now, before);
    expect(p.depth).toBe(5);
    expect(p.waitP50).toBeCloseTo(5.5, 9); // all 10 new waits in (1, 10]
    expect(p.chunkFailureRate).toBeCloseTo(0.1, 9);
    expect(p.recordErrorRate).toBeCloseTo(0.1, 9);
    expect(p.recordsPerSecond).toBeCloseTo(10, 9);
  });

  it('reports no rate without a window or after counters went back (Redis flushed)', () => {
    expect(pointBetween(sample(5), undefined).waitP95).toBeNull();
    const reset = pointBetween(sample(10, { attempts: 1 }), sample(5, { attempts: 50 }));
    expect(reset.chunkFailureRate).toBeNull();
    expect(reset.recordsPerSecond).toBeNull();
  });

  it('keeps only its retention, in order, and finds the sample a window back', () => {
    const history = new History(60_000);
    for (let t = 0; t <= 120_000; t += 10_000) history.add(sample(t));
    history.add(sample(50_000)); // out of order: ignored
    expect(history.size).toBe(7); // 60 s .. 120 s
    expect(history.before(120_000, 30_000)?.t).toBe(90_000);
    expect(history.before(70_000, 30_000)?.t).toBe(60_000); // not 30 s of history yet: the oldest
    const points = history.points(30_000);
    expect(points.map((p) => p.t)).toEqual([60_000, 70_000, 80_000, 90_000, 100_000, 110_000, 120_000]);
  });
});
