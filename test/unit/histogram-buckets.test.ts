import { describe, expect, it } from 'vitest';
import { bucketField, cumulate, observe, quantile, WAIT_BUCKETS } from '../../src/shared/observability/histogram-buckets.js';

describe('histogram buckets', () => {
  it('puts a value in the smallest bucket that holds it (le is inclusive)', () => {
    expect(bucketField(0, [1, 5])).toBe('1');
    expect(bucketField(1, [1, 5])).toBe('1');
    expect(bucketField(1.01, [1, 5])).toBe('5');
    expect(bucketField(6, [1, 5])).toBe('+Inf');
  });

  it('observes nothing for an unknown value and clamps negatives to 0', () => {
    expect(observe(undefined, WAIT_BUCKETS)).toEqual({ bucket: '', value: 0 });
    expect(observe(Number.NaN, WAIT_BUCKETS).bucket).toBe('');
    expect(observe(-2, WAIT_BUCKETS)).toEqual({ bucket: '0.1', value: 0 });
  });

  it('cumulates stored buckets into Prometheus le buckets, keeping observations of retired bounds', () => {
    const h = cumulate({ '1': '2', '5': '3', '+Inf': '1', '3': '4', count: '10', sum: '31.5' }, [1, 5]);
    expect(h.buckets).toEqual([
      [1, 2],
      [5, 9],
      [Infinity, 10],
    ]);
    expect(h.count).toBe(10);
    expect(h.sum).toBe(31.5);
  });

  it('interpolates quantiles like histogram_quantile, between two snapshots', () => {
    const before = cumulate({ '1': '10', count: '10' }, [1, 2, 4]);
    const now = cumulate({ '1': '10', '2': '4', '4': '4', count: '18' }, [1, 2, 4]);
    // 8 new observations: 4 in (1,2], 4 in (2,4].
    expect(quantile(0.5, now, before)).toBe(2);
    expect(quantile(0.75, now, before)).toBe(3);
    expect(quantile(0.5, now, now)).toBeNull();
    // In the +Inf bucket: the largest finite bound, as Prometheus answers.
    expect(quantile(0.99, cumulate({ '+Inf': '3', count: '3' }, [1, 2]))).toBe(2);
  });
});
