/**
 * The values the cost labels (`team`, `project`, `model`) may take in the exporter's metrics.
 * They come from users, so without a bound every new value is a new Prometheus series, for
 * every cost metric, forever. Each label keeps a registry of at most `METRIC_LABEL_VALUES_MAX`
 * values, admitted first come first served when a batch is submitted; the exporter publishes
 * any other value as `other`. The batch itself (status API, manifest) keeps its own labels.
 *
 * Registries are sorted sets (value → first seen, ms) under the queue prefix, in the same
 * hash slot as every other key.
 */
import type { Redis } from 'ioredis';

/** The metric labels that come from user input. */
export const COST_LABELS = ['team', 'project', 'model'] as const;
export type CostLabel = (typeof COST_LABELS)[number];

/** What a value beyond the cap is published as. */
export const OTHER_LABEL_VALUE = 'other';

export const labelValuesKey = (prefix: string, label: CostLabel): string => `${prefix}:metrics:label-values:${label}`;

// Admits each value unless its label's registry is full; a value already admitted stays.
// KEYS: one registry per label. ARGV: cap, now ms, one value per key.
// Returns, per key, 1 when the value is admitted (now or before), 0 when it counts as other.
const ADMIT = `
local cap = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local value = ARGV[i + 2]
  if redis.call('ZSCORE', KEYS[i], value) then
    out[i] = 1
  elseif redis.call('ZCARD', KEYS[i]) < cap then
    redis.call('ZADD', KEYS[i], ARGV[2], value)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`;

interface AdmitCommand {
  labelValuesAdmit(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
}

/** Admitted values per label; `''` (label not set) is always admitted and never counted. */
export type AdmittedValues = Record<CostLabel, ReadonlySet<string>>;

export class LabelValues {
  private readonly redis: Redis & AdmitCommand;

  /** @param max - `METRIC_LABEL_VALUES_MAX`: distinct values each label may take. */
  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly max: number,
  ) {
    redis.defineCommand('labelValuesAdmit', { lua: ADMIT });
    this.redis = redis as Redis & AdmitCommand;
  }

  /** Registers a batch's cost label values; returns the labels whose value counts as `other`. */
  async admit(values: Record<CostLabel, string>): Promise<CostLabel[]> {
    const labels = COST_LABELS.filter((label) => values[label] !== '');
    if (labels.length === 0) return [];
    const keys = labels.map((label) => labelValuesKey(this.prefix, label));
    const admitted = await this.redis.labelValuesAdmit(keys.length, ...keys, this.max, Date.now(), ...labels.map((l) => values[l]));
    return labels.filter((_, i) => admitted[i] !== 1);
  }

  /** {@link admit} for a batch's labels and model. */
  admitBatch(labels: Readonly<Record<string, string>>, model: string): Promise<CostLabel[]> {
    return this.admit({ team: labels.team ?? '', project: labels.project ?? '', model });
  }

  /** Queues the reads of the admitted values (the first `max` of each label) on a pipeline. */
  static queueRead(pipeline: ReturnType<Redis['pipeline']>, prefix: string, max: number): void {
    for (const label of COST_LABELS) pipeline.zrange(labelValuesKey(prefix, label), '0', String(max - 1));
  }

  /** The admitted values from the replies {@link queueRead} queued, in order. */
  static fromReplies(replies: readonly unknown[]): AdmittedValues {
    const sets = COST_LABELS.map((_, i) => new Set((replies[i] as string[] | undefined) ?? []));
    return { team: sets[0] ?? new Set(), project: sets[1] ?? new Set(), model: sets[2] ?? new Set() };
  }
}

/** The value a label is published with: itself when admitted (or unset), else `other`. */
export function publishedValue(admitted: AdmittedValues, label: CostLabel, value: string): string {
  return value === '' || admitted[label].has(value) ? value : OTHER_LABEL_VALUE;
}
