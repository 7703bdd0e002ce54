/**
 * Reads what consumers and batch transitions accounted in Redis: the counters behind
 * records, failures, cost and CPU, the histograms, batch gauges, live consumers, schedule
 * starts and this month's team cost. One pipeline of small reads, each O(1) or O(number of
 * label combinations / buckets): nothing here grows with the number of batches or chunks.
 */
import type { Redis } from 'ioredis';
import { costMonth } from '../shared/batch/cost.js';
import { cumulate, PROCESSING_BUCKETS, WAIT_BUCKETS } from '../shared/observability/histogram-buckets.js';
import type { CumulativeHistogram } from '../shared/observability/histogram-buckets.js';
import {
  activeBatchesKey,
  CONSUMER_ALIVE_MS,
  consumersKey,
  finishedBatchesKey,
  metricKeys,
  teamMonthCostKey,
} from '../shared/batch/keys.js';
import type { MetricKeys } from '../shared/batch/keys.js';
import { LabelValues, publishedValue } from '../shared/batch/label-values.js';

export const FINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

export interface CostAttribution {
  team: string;
  project: string;
  model: string;
}

export interface RecordCount extends CostAttribution {
  outcome: string;
  records: number;
}

export interface CostRow extends CostAttribution {
  usd: number;
  cpuSeconds: number;
  allocatedCpuSeconds: number;
}

export interface Accounting {
  wait: CumulativeHistogram;
  processing: CumulativeHistogram;
  records: RecordCount[];
  chunkFailures: Record<string, number>;
  chunkRetries: Record<string, number>;
  cost: CostRow[];
  batches: {
    ingesting: number;
    running: number;
    created: number;
    /** Batches that ever reached each final status (monotonic). */
    finishedTotal: Record<FinalStatus, number>;
    /** Batches in each final status the status API still knows (finished within the TTL). */
    retained: Record<FinalStatus, number>;
    /** Creation time (epoch ms) of the oldest batch in progress, or null. */
    oldestActiveCreatedMs: number | null;
  };
  /** Consumers whose heartbeat is fresh. */
  consumers: number;
  /** Schedule → epoch ms of its last batch. */
  scheduleStarts: Record<string, number>;
  /** Team → allocated USD this calendar month (UTC). */
  teamMonthCostUsd: Record<string, number>;
  /** The month of `teamMonthCostUsd`, `YYYY-MM`. */
  month: string;
}

function toNumbers(hash: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(hash)) {
    const n = Number(v);
    if (Number.isFinite(n)) out[k] = n;
  }
  return out;
}

function parseTuple(field: string, size: number): string[] | undefined {
  try {
    const tuple = JSON.parse(field) as unknown;
    if (Array.isArray(tuple) && tuple.length === size && tuple.every((t): t is string => typeof t === 'string')) return tuple;
  } catch {
    /* not ours: skipped */
  }
  return undefined;
}

type PipelineResult = [Error | null, unknown][];

export class AccountingReader {
  private readonly keys: MetricKeys;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long a finished batch stays in Redis (its status is answerable that long). */
    private readonly batchTtlSeconds: number,
    /** `METRIC_LABEL_VALUES_MAX`: values of each cost label published as themselves. */
    private readonly labelValuesMax = 100,
  ) {
    this.keys = metricKeys(prefix);
  }

  /** Redis commands one read sends (all in one pipeline). */
  static readonly COMMANDS = 13 + FINAL_STATUSES.length + 3;

  async read(nowMs: number): Promise<Accounting> {
    const k = this.keys;
    const month = costMonth(new Date(nowMs));
    const retainedSince = nowMs - this.batchTtlSeconds * 1000;
    const pipeline = this.redis
      .pipeline()
      .hgetall(k.waitHistogram)
      .hgetall(k.processingHistogram)
      .hgetall(k.records)
      .hgetall(k.chunkFailures)
      .hgetall(k.chunkRetries)
      .hgetall(k.costUsd)
      .hgetall(k.cpuSeconds)
      .hgetall(k.allocatedCpuSeconds)
      .hgetall(k.batches)
      .hgetall(k.scheduleStarts)
      .hgetall(teamMonthCostKey(this.prefix, month))
      .zcount(consumersKey(this.prefix), nowMs - CONSUMER_ALIVE_MS, '+inf')
      .zrange(activeBatchesKey(this.prefix), '0', '0', 'WITHSCORES');
    for (const status of FINAL_STATUSES) pipeline.zcount(finishedBatchesKey(this.prefix, status), retainedSince, '+inf');
    LabelValues.queueRead(pipeline, this.prefix, this.labelValuesMax);
    const results: PipelineResult | null = await pipeline.exec();
    if (!results) throw new Error('Redis pipeline returned nothing');
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
    const value = (i: number): unknown => results[i]?.[1];
    const hash = (i: number): Record<string, string> => (value(i) as Record<string, string> | undefined) ?? {};

    // Fields are JSON label tuples; two spellings of one tuple (Lua's cjson escapes '/',
    // JSON.stringify does not) are one series, so rows are merged by the parsed labels, after
    // values beyond the cardinality cap are folded into `other` (the series stay bounded).
    const admitted = LabelValues.fromReplies(results.slice(13 + FINAL_STATUSES.length).map(([, v]) => v));
    const publish = ([team = '', project = '', model = '']: string[]): string[] => [
      publishedValue(admitted, 'team', team),
      publishedValue(admitted, 'project', project),
      publishedValue(admitted, 'model', model),
    ];
    const cost = new Map<string, CostRow>();
    const costColumns = [
      ['usd', hash(5)],
      ['cpuSeconds', hash(6)],
      ['allocatedCpuSeconds', hash(7)],
    ] as const;
    for (const [column, fields] of costColumns) {
      for (const [field, n] of Object.entries(toNumbers(fields))) {
        const parsedTuple = parseTuple(field, 3);
        if (!parsedTuple) continue;
        const tuple = publish(parsedTuple);
        const key = JSON.stringify(tuple);
        const [team = '', project = '', model = ''] = tuple;
        const row = cost.get(key) ?? { team, project, model, usd: 0, cpuSeconds: 0, allocatedCpuSeconds: 0 };
        row[column] += n;
        cost.set(key, row);
      }
    }
    const records = new Map<string, RecordCount>();
    for (const [field, n] of Object.entries(toNumbers(hash(2)))) {
      const parsedTuple = parseTuple(field, 4);
      if (!parsedTuple) continue;
      const tuple = [parsedTuple[0] ?? '', ...publish(parsedTuple.slice(1))];
      const key = JSON.stringify(tuple);
      const [outcome = '', team = '', project = '', model = ''] = tuple;
      const row = records.get(key) ?? { outcome, team, project, model, records: 0 };
      row.records += n;
      records.set(key, row);
    }
    const gauges = toNumbers(hash(8));
    const oldest = (value(12) as string[] | undefined) ?? [];
    const finishedTotal = Object.fromEntries(FINAL_STATUSES.map((s) => [s, gauges[s] ?? 0])) as Record<FinalStatus, number>;
    const retained = Object.fromEntries(FINAL_STATUSES.map((s, i) => [s, Number(value(13 + i) ?? 0)])) as Record<FinalStatus, number>;
    return {
      wait: cumulate(hash(0), WAIT_BUCKETS),
      processing: cumulate(hash(1), PROCESSING_BUCKETS),
      records: [...records.values()],
      chunkFailures: toNumbers(hash(3)),
      chunkRetries: toNumbers(hash(4)),
      cost: [...cost.values()],
      batches: {
        // Gauges moved by +1/-1 at transitions; never shown below zero.
        ingesting: Math.max(0, gauges.ingesting ?? 0),
        running: Math.max(0, gauges.running ?? 0),
        created: gauges.created ?? 0,
        finishedTotal,
        retained,
        oldestActiveCreatedMs: oldest.length === 2 ? Number(oldest[1]) : null,
      },
      consumers: Number(value(11) ?? 0),
      scheduleStarts: toNumbers(hash(9)),
      teamMonthCostUsd: toNumbers(hash(10)),
      month,
    };
  }
}
