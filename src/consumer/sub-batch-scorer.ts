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

/** A record the model scored. */
export interface RecordScore {
  prediction: Prediction;
  probabilities?: number[];
}

/** A record the model could not score. */
export interface RecordScoreError {
  code: Extract<RecordErrorCode, 'NON_FINITE_PREDICTION' | 'PREDICTION_FAILED'>;
  error: string;
}

export type ScoreOutcome = RecordScore | RecordScoreError;

export const isScoreError = (o: ScoreOutcome): o is RecordScoreError => 'code' in o;

/** Largest sub-batch when `MODEL_BATCH_SIZE` is not set: the whole chunk, up to this. */
export const DEFAULT_MODEL_BATCH_SIZE = 1024;

export interface ScoreReport {
  outcomes: ScoreOutcome[];
  /** Model calls made, bisection included. */
  calls: number;
  /** The sub-batch size used. */
  subBatchSize: number;
}

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

function outcomes(scores: Scores, n: number): ScoreOutcome[] {
  if (scores.predictions.length !== n) {
    throw new UnrecoverableError(`model returned ${scores.predictions.length} predictions for ${n} records`);
  }
  return scores.predictions.map((prediction, i) => {
    const probabilities = scores.probabilities?.[i];
    if (!isFiniteDeep(prediction) || (probabilities && !isFiniteDeep(probabilities))) {
      return { code: 'NON_FINITE_PREDICTION', error: 'the model predicted NaN or an infinite value' };
    }
    return probabilities ? { prediction, probabilities } : { prediction };
  });
}

export class SubBatchScorer {
  private readonly batchSize: number | undefined;

  /** @param batchSize `MODEL_BATCH_SIZE`; undefined: the whole chunk, up to {@link DEFAULT_MODEL_BATCH_SIZE}. */
  constructor(batchSize?: number) {
    this.batchSize = batchSize;
  }

  async score(model: Model, rows: Rows, options: PredictOptions = {}): Promise<ScoreReport> {
    const size = Math.max(1, this.batchSize ?? Math.min(rows.length, DEFAULT_MODEL_BATCH_SIZE));
    const report: ScoreReport = { outcomes: [], calls: 0, subBatchSize: size };
    for (let start = 0; start < rows.length; start += size) {
      // The whole chunk in one call (the default) needs no copy of its rows.
      const sub = start === 0 && size >= rows.length ? rows : rows.slice(start, start + size);
      const scored = await this.scoreRange(model, sub, options, report);
      if (report.outcomes.length === 0) report.outcomes = scored;
      else for (const outcome of scored) report.outcomes.push(outcome);
    }
    return report;
  }

  private async scoreRange(model: Model, rows: Rows, options: PredictOptions, report: ScoreReport): Promise<ScoreOutcome[]> {
    let scores: Scores;
    try {
      report.calls++;
      scores = await call(model, rows, options);
    } catch (err) {
      if (propagates(err, options)) throw err;
      if (rows.length === 1) return [{ code: 'PREDICTION_FAILED', error: `the model failed on this record: ${(err as Error).message}` }];
      const half = Math.ceil(rows.length / 2);
      const left = await this.scoreRange(model, rows.slice(0, half), options, report);
      const right = await this.scoreRange(model, rows.slice(half), options, report);
      return [...left, ...right];
    }
    return outcomes(scores, rows.length);
  }
}
