/**
 * Histogram buckets shared by the consumers that observe and the exporter that publishes.
 * A consumer increments one field per observation (the smallest bound that holds the value:
 * a non-cumulative bucket), so the write is O(1); the exporter cumulates them into
 * Prometheus `le` buckets when it is scraped.
 */

/** Per-attempt wait of a chunk, seconds: from sub-second (warm consumers) to hours (scale-up, backlog). */
export const WAIT_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600] as const;

/** Per-attempt processing time of a chunk, seconds. Bounded by the consumer's revision timeout (≤ 600 s). */
export const PROCESSING_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;

/** The field of the bucket that holds `value`: a bound as Prometheus writes `le`, or `+Inf`. */
export function bucketField(value: number, bounds: readonly number[]): string {
  for (const bound of bounds) if (value <= bound) return formatBound(bound);
  return '+Inf';
}

/** A bucket bound as it appears in an `le` label (`0.5`, `10`, `+Inf`). */
export function formatBound(bound: number): string {
  return bound === Infinity ? '+Inf' : String(bound);
}

/** One observation, as the accounting scripts take it: bucket field ('' = none) and value. */
export interface Observation {
  bucket: string;
  value: number;
}

export const NO_OBSERVATION: Observation = { bucket: '', value: 0 };

export function observe(value: number | undefined, bounds: readonly number[]): Observation {
  if (value === undefined || !Number.isFinite(value)) return NO_OBSERVATION;
  const v = Math.max(0, value);
  return { bucket: bucketField(v, bounds), value: v };
}

/** Cumulative counts per bound (ending with +Inf) from the stored non-cumulative fields. */
export interface CumulativeHistogram {
  /** `[bound, cumulative count]`, bounds ascending, the last one `Infinity`. */
  buckets: [number, number][];
  count: number;
  sum: number;
}

export function cumulate(fields: Record<string, string>, bounds: readonly number[]): CumulativeHistogram {
  const stored: [number, number][] = [];
  let count = 0;
  let sum = 0;
  for (const [field, raw] of Object.entries(fields)) {
    const n = Number(raw);
    if (!Number.isFinite(n)) continue;
    if (field === 'count') count = n;
    else if (field === 'sum') sum = n;
    else {
      const bound = field === '+Inf' ? Infinity : Number(field);
      if (!Number.isNaN(bound)) stored.push([bound, n]);
    }
  }
  // A field whose bound is not (or no longer) a configured one lands in the next larger bound,
  // so changing the buckets never loses observations.
  const buckets: [number, number][] = [...bounds, Infinity].map((bound) => [
    bound,
    stored.filter(([b]) => b <= bound).reduce((total, [, n]) => total + n, 0),
  ]);
  return { buckets, count, sum };
}

/**
 * The q-quantile (0..1) of the observations between two cumulative snapshots, interpolated
 * linearly inside a bucket as Prometheus' histogram_quantile does. Null when nothing was
 * observed in between.
 */
export function quantile(q: number, now: CumulativeHistogram, before?: CumulativeHistogram): number | null {
  const counts = now.buckets.map(([bound, n], i) => [bound, n - (before?.buckets[i]?.[1] ?? 0)] as [number, number]);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of counts) {
    if (count >= rank) {
      // Like Prometheus: a quantile in the +Inf bucket is the largest finite bound.
      if (bound === Infinity) return prevBound;
      if (count === prevCount) return bound;
      return prevBound + (bound - prevBound) * ((rank - prevCount) / (count - prevCount));
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}
