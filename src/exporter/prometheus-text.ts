/**
 * The Prometheus text exposition format (version 0.0.4), just what the exporter needs:
 * families with HELP and TYPE, escaped label values, and histograms from cumulative buckets.
 */
import { formatBound } from '../shared/observability/histogram-buckets.js';
import type { CumulativeHistogram } from '../shared/observability/histogram-buckets.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  labels?: Labels;
  value: number;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

export class MetricsWriter {
  private readonly lines: string[] = [];

  family(name: string, type: MetricType, help: string, samples: readonly Sample[]): this {
    this.header(name, type, help);
    for (const s of samples) this.lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    return this;
  }

  histogram(name: string, help: string, histogram: CumulativeHistogram, labels: Labels = {}): this {
    this.header(name, 'histogram', help);
    for (const [bound, count] of histogram.buckets) {
      this.lines.push(`${name}_bucket${formatLabels({ ...labels, le: formatBound(bound) })} ${formatValue(count)}`);
    }
    this.lines.push(`${name}_sum${formatLabels(labels)} ${formatValue(histogram.sum)}`);
    this.lines.push(`${name}_count${formatLabels(labels)} ${formatValue(histogram.count)}`);
    return this;
  }

  /** Text already in the exposition format (BullMQ's own export). */
  raw(text: string): this {
    if (text.trim() !== '') this.lines.push(text.trimEnd());
    return this;
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }

  private header(name: string, type: MetricType, help: string): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }
}
