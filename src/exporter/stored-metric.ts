/**
 * A metric family whose samples are kept outside the process (in Redis) and replaced whole at
 * every scrape: prom-client's custom-collector shape, which the library does not ship.
 *
 * Why not prom-client's own classes for these families:
 * - A `Histogram` can only `observe()` single values; it has no public way to take the
 *   bucket counts, sum and count that consumers accumulated in Redis (replaying them would
 *   cost one call per observation and still get the sum wrong).
 * - `Counter` and `Gauge` key their series by `name:value,` joined (prom-client 15), which is
 *   not injective: with two or more labels, values holding `,<label>:` (team and project come
 *   from users) make two different label sets one series, and a counter then adds one
 *   team's cost to another's. Families labelled by user input go through here instead.
 *
 * prom-client's `Registry` renders any registered object from its `get()` (the same call it
 * makes on a `Counter` or `Gauge`): HELP, TYPE, escaped label values, `+Inf`.
 */
import type { Metric, Registry } from 'prom-client';
import { formatBound } from '../shared/observability/histogram-buckets.js';
import type { CumulativeHistogram } from '../shared/observability/histogram-buckets.js';

export type Labels = Readonly<Record<string, string>>;

export interface StoredSample {
  /** Defaults to the family's name; histograms use `<name>_bucket`, `_sum`, `_count`. */
  metricName?: string;
  labels: Labels;
  value: number;
}

export interface StoredMetricConfig {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** The samples now, read from the scrape's snapshot. */
  collect: () => StoredSample[];
}

/** What prom-client's registry reads from a metric (its `MetricObjectWithValues`). */
interface MetricValues {
  name: string;
  help: string;
  type: StoredMetricConfig['type'];
  aggregator: 'sum';
  values: StoredSample[];
}

export class StoredMetric {
  readonly name: string;
  readonly help: string;
  readonly type: StoredMetricConfig['type'];
  readonly aggregator = 'sum';
  private readonly collect: () => StoredSample[];

  constructor(config: StoredMetricConfig) {
    this.name = config.name;
    this.help = config.help;
    this.type = config.type;
    this.collect = config.collect;
  }

  /** Registers with a prom-client registry. */
  registerIn(registry: Registry): this {
    // prom-client types `registerMetric` as taking only its four classes, yet renders any object
    // with this shape: the one cast between the two lives here.
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  get(): Promise<MetricValues> {
    const values = this.collect();
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** Nothing to reset: every scrape replaces the samples (the registry's `resetMetrics()` calls this). */
  reset(): void {}
}

/** A histogram's samples from its cumulative buckets: `_bucket` per `le`, then `_sum` and `_count`. */
export function histogramSamples(name: string, histogram: CumulativeHistogram, labels: Labels = {}): StoredSample[] {
  return [
    ...histogram.buckets.map(([bound, count]) => ({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: formatBound(bound) },
      value: count,
    })),
    { metricName: `${name}_sum`, labels, value: histogram.sum },
    { metricName: `${name}_count`, labels, value: histogram.count },
  ];
}
