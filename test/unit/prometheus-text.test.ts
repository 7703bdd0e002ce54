import { describe, expect, it } from 'vitest';
import { escapeLabelValue, formatValue, MetricsWriter } from '../../src/exporter/prometheus-text.js';

describe('Prometheus text', () => {
  it('escapes label values so any team name stays one well-formed sample', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });

  it('writes special values as Prometheus spells them', () => {
    expect([NaN, Infinity, -Infinity, 0.25, 1e-7].map(formatValue)).toEqual(['NaN', '+Inf', '-Inf', '0.25', '1e-7']);
  });

  it('writes HELP and TYPE, then the samples, and histograms with le buckets, sum and count', () => {
    const text = new MetricsWriter()
      .family('x_total', 'counter', 'Things.\nMore.', [{ labels: { team: 'r"isk' }, value: 3 }])
      .histogram('y_seconds', 'Times.', {
        buckets: [
          [1, 2],
          [Infinity, 3],
        ],
        count: 3,
        sum: 4.5,
      })
      .toString();
    expect(text).toBe(
      [
        '# HELP x_total Things.\\nMore.',
        '# TYPE x_total counter',
        'x_total{team="r\\"isk"} 3',
        '# HELP y_seconds Times.',
        '# TYPE y_seconds histogram',
        'y_seconds_bucket{le="1"} 2',
        'y_seconds_bucket{le="+Inf"} 3',
        'y_seconds_sum 4.5',
        'y_seconds_count 3',
        '',
      ].join('\n'),
    );
  });
});
