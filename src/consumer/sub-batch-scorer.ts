/**
 * Scores a chunk's records in sub-batches of `MODEL_BATCH_SIZE` (one model call each), and
 * keeps one bad record from costing its neighbours:
 * - a prediction (or probability) that is NaN or infinite is a record error
 *   (`NON_FINITE_PREDICTION`), never a `null` counted as a success;
 * - a sub-batch whose call throws is split in halves until the records that make the model
 *   throw are alone; they become record errors (`PREDICTION_FAILED`), the rest are scored.
 * Errors about the whole model or the attempt propagate instead: a {@link ModelError}, an
 * abort (the consumer is draining), and errors marked `retryable` (a model server's outage).
 */
import { UnrecoverableError } from 'bullmq';
import { ModelError } from '../shared/errors.js';
import type { Model, PredictOptions, Scores } from '../shared/models/model.js';
import type { Prediction, RecordErrorCode } from '../shared/types.js';

/** A record the model could not score. */
export interface RecordScoreError {
  code: Extract<RecordErrorCode, 'NON_FINITE_PREDICTION' | 'PREDICTION_FAILED'>;
  error: string;
}

/** Largest sub-batch when `MODEL_BATCH_SIZE` is not set: the whole chunk, up to this. */
export const DEFAULT_MODEL_BATCH_SIZE = 1024;

/**
 * What scoring gave, by record index, in columns: no object per record (on a cheap model
 * those were a tenth of the consumer's CPU and much of its garbage).
 */
export interface ScoreReport {
  /** The model's prediction of each record; meaningless where {@link ScoreReport.errors} has the record. */
  predictions: Prediction[];
  /** Per-class probabilities of each record, when the model gives them. */
  probabilities?: (readonly number[] | undefined)[];
  /** The records the model could not score, by index (usually none). */
  errors: Map<number, RecordScoreError>;
  /** Model calls made, bisection included. */
  calls: number;
  /** The sub-batch size used. */
  subBatchSize: number;
}

/** A range's scores, indexes from the range's start. */
type RangeScores = Pick<ScoreReport, 'predictions' | 'probabilities' | 'errors'>;

type Rows = readonly (readonly number[])[];

function isFiniteDeep(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) {
    for (const v of value as unknown[]) if (!isFiniteDeep(v)) return false;
  }
  return true;
}

/** Errors that concern the whole model or attempt: never bisected. */
function propagates(err: unknown, options: PredictOptions): boolean {
  if (options.signal?.aborted) return true;
  if (err instanceof ModelError || err instanceof UnrecoverableError) return true;
  if (err instanceof Error && err.name === 'AbortError') return true;
  return (err as { retryable?: unknown } | null)?.retryable === true;
}

async function call(model: Model, rows: Rows, options: PredictOptions): Promise<Scores> {
  if (model.score) return model.score(rows, options);
  const out = model.predict(rows, options);
  return { predictions: out instanceof Promise ? await out : out };
}

/** The model's scores as a range's, with NaN and infinite values made record errors. */
function checked(scores: Scores, n: number): RangeScores {
  if (scores.predictions.length !== n) {
    throw new UnrecoverableError(`model returned ${scores.predictions.length} predictions for ${n} records`);
  }
  const errors = new Map<number, RecordScoreError>();
  const { predictions, probabilities } = scores;
  for (let i = 0; i < n; i++) {
    const prediction = predictions[i];
    const finite = typeof prediction === 'number' ? Number.isFinite(prediction) : isFiniteDeep(prediction);
    const row = probabilities?.[i];
    if (!finite || (row && !isFiniteDeep(row))) {
      errors.set(i, { code: 'NON_FINITE_PREDICTION', error: 'the model predicted NaN or an infinite value' });
    }
  }
  const range: RangeScores = { predictions, errors };
  if (probabilities) range.probabilities = probabilities;
  return range;
}

/** Appends `part` (a range starting at `offset`) to `into`. */
function append(into: RangeScores, part: RangeScores, offset: number): void {
  for (let i = 0; i < part.predictions.length; i++) into.predictions.push(part.predictions[i] as Prediction);
  if (part.probabilities) {
    into.probabilities ??= new Array<readonly number[] | undefined>(offset);
    for (let i = 0; i < part.predictions.length; i++) into.probabilities[offset + i] = part.probabilities[i];
  }
  for (const [i, error] of part.errors) into.errors.set(offset + i, error);
}

export class SubBatchScorer {
  private readonly batchSize: number | undefined;

  /** @param batchSize `MODEL_BATCH_SIZE`; undefined: the whole chunk, up to {@link DEFAULT_MODEL_BATCH_SIZE}. */
  constructor(batchSize?: number) {
    this.batchSize = batchSize;
  }

  /** Records per model call for a chunk of `records`. */
  batchSizeFor(records: number): number {
    return Math.max(1, this.batchSize ?? Math.min(records, DEFAULT_MODEL_BATCH_SIZE));
  }

  async score(model: Model, rows: Rows, options: PredictOptions = {}): Promise<ScoreReport> {
    const size = this.batchSizeFor(rows.length);
    const report: ScoreReport = { predictions: [], errors: new Map(), calls: 0, subBatchSize: size };
    // No record (all blank or bad): no model call.
    if (rows.length === 0) return report;
    // The whole chunk in one call (the default) needs no copy of its rows or of its scores.
    if (size >= rows.length) return Object.assign(report, await this.scoreRange(model, rows, options, report));
    for (let start = 0; start < rows.length; start += size) {
      append(report, await this.scoreRange(model, rows.slice(start, start + size), options, report), start);
    }
    return report;
  }

  private async scoreRange(model: Model, rows: Rows, options: PredictOptions, report: ScoreReport): Promise<RangeScores> {
    let scores: Scores;
    try {
      report.calls++;
      scores = await call(model, rows, options);
    } catch (err) {
      if (propagates(err, options)) throw err;
      if (rows.length === 1) {
        const error: RecordScoreError = { code: 'PREDICTION_FAILED', error: `the model failed on this record: ${(err as Error).message}` };
        // 0: a placeholder, never read (the record is an error).
        return { predictions: [0], errors: new Map([[0, error]]) };
      }
      const half = Math.ceil(rows.length / 2);
      const both: RangeScores = { predictions: [], errors: new Map() };
      append(both, await this.scoreRange(model, rows.slice(0, half), options, report), 0);
      append(both, await this.scoreRange(model, rows.slice(half), options, report), half);
      return both;
    }
    return checked(scores, rows.length);
  }
}
