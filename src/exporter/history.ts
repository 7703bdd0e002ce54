/**
 * The exporter's memory of recent samples, for its built-in page (people without Grafana
 * still want "over time"). Samples are taken every `EXPORTER_SAMPLE_SECONDS` and kept for
 * `EXPORTER_HISTORY_SECONDS`; rates and quantiles are computed between a sample and the one
 * a window earlier, the way Prometheus' rate() and histogram_quantile() would.
 */
import { quantile } from '../shared/observability/histogram-buckets.js';
import type { CumulativeHistogram } from '../shared/observability/histogram-buckets.js';
import type { Snapshot } from './snapshot.js';

export interface HistorySample {
  /** Epoch ms. */
  t: number;
  depth: number;
  waiting: number;
  active: number;
  delayed: number;
  consumers: number;
  wait: CumulativeHistogram;
  /** Chunk attempts processed so far (processing histogram count). */
  attempts: number;
  chunkFailures: number;
  recordsSucceeded: number;
  recordsFailed: number;
  costUsd: number;
}

/** One point of the page's charts. Rates are over the window ending at `t`. */
export interface HistoryPoint {
  t: number;
  depth: number;
  waiting: number;
  active: number;
  consumers: number;
  waitP50: number | null;
  waitP95: number | null;
  /** Chunks failed for good / chunk attempts; null without attempts. */
  chunkFailureRate: number | null;
  /** Failed records / records processed; null without records. */
  recordErrorRate: number | null;
  recordsPerSecond: number | null;
}

const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);

export function sampleOf(snapshot: Snapshot): HistorySample {
  const { queue, accounting: a } = snapshot;
  const records = (outcome: string): number => sum(a.records.filter((r) => r.outcome === outcome).map((r) => r.records));
  return {
    t: snapshot.atMs,
    depth: queue.depth,
    waiting: queue.counts.waiting ?? 0,
    active: queue.counts.active ?? 0,
    delayed: queue.counts.delayed ?? 0,
    consumers: a.consumers,
    wait: a.wait,
    attempts: a.processing.count,
    chunkFailures: sum(Object.values(a.chunkFailures)),
    recordsSucceeded: records('succeeded'),
    recordsFailed: records('failed'),
    costUsd: sum(a.cost.map((c) => c.usd)),
  };
}

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

/** Derived values of `now` over the window since `before` (counter resets read as no data). */
export function pointBetween(now: HistorySample, before: HistorySample | undefined): HistoryPoint {
  const base = before && before.t < now.t && before.attempts <= now.attempts ? before : undefined;
  const seconds = base ? (now.t - base.t) / 1000 : 0;
  const processed = now.recordsSucceeded + now.recordsFailed - (base ? base.recordsSucceeded + base.recordsFailed : 0);
  return {
    t: now.t,
    depth: now.depth,
    waiting: now.waiting,
    active: now.active,
    consumers: now.consumers,
    waitP50: base ? quantile(0.5, now.wait, base.wait) : null,
    waitP95: base ? quantile(0.95, now.wait, base.wait) : null,
    chunkFailureRate: base ? ratio(now.chunkFailures - base.chunkFailures, now.attempts - base.attempts) : null,
    recordErrorRate: base ? ratio(now.recordsFailed - base.recordsFailed, processed) : null,
    recordsPerSecond: base && seconds > 0 ? processed / seconds : null,
  };
}

export class History {
  private readonly samples: HistorySample[] = [];

  constructor(private readonly keepMs: number) {}

  add(sample: HistorySample): void {
    const last = this.samples.at(-1);
    if (last && sample.t <= last.t) return;
    this.samples.push(sample);
    const oldest = sample.t - this.keepMs;
    while ((this.samples[0]?.t ?? Infinity) < oldest) this.samples.shift();
  }

  get size(): number {
    return this.samples.length;
  }

  latest(): HistorySample | undefined {
    return this.samples.at(-1);
  }

  /** The latest sample at least `windowMs` older than `t`, else the oldest one before `t`. */
  before(t: number, windowMs: number): HistorySample | undefined {
    let candidate: HistorySample | undefined;
    for (const s of this.samples) {
      if (s.t >= t) break;
      if (s.t <= t - windowMs) candidate = s;
      else return candidate ?? s;
    }
    return candidate;
  }

  /** Points for every sample, each over the window before it (one pass: samples are in order). */
  points(windowMs: number): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    let j = 0;
    for (let i = 0; i < this.samples.length; i++) {
      const sample = this.samples[i] as HistorySample;
      while (j + 1 < i && (this.samples[j + 1] as HistorySample).t <= sample.t - windowMs) j++;
      out.push(pointBetween(sample, i === 0 ? undefined : this.samples[j]));
    }
    return out;
  }
}
