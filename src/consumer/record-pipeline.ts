/**
 * The records of one chunk, from text to output: parse them (record errors for the bad ones),
 * score the good ones with the model, and write the chunk's part and error files whole. A
 * retried chunk rewrites both, so nothing is ever written twice. Each step is a span.
 */
import { performance } from 'node:perf_hooks';
import { context, trace } from '@opentelemetry/api';
import type { Context, HrTime } from '@opentelemetry/api';
import { RecordCursor } from '../shared/formats/record-parser.js';
import type { ParsedChunk } from '../shared/formats/record-parser.js';
import { errorsName, partName } from '../shared/io/sinks/output-layout.js';
import type { OutputSink } from '../shared/io/sinks/output-sink.js';
import type { Model } from '../shared/models/model.js';
import { ATTR, attrs, inSpanSync, recordError, SPAN, tracer } from '../shared/observability/tracing.js';
import type { ChunkData, ParsedRecord, Prediction, RecordError } from '../shared/types.js';
import { joinLines, predictionLine } from './prediction-lines.js';
import { SubBatchScorer } from './sub-batch-scorer.js';
import type { ScoreReport } from './sub-batch-scorer.js';

/** What scoring a chunk gave, for its accounting. */
export interface ScoredChunk {
  succeeded: number;
  failed: number;
  /** Sum and count of numeric predictions, for `avg_prediction`. */
  predictionSum: number;
  predictionCount: number;
  /** Model time, ms. */
  latencyMs: number;
}

export interface RecordPipelineOptions {
  /**
   * Fraction of records that get a span of their own (0 = none). Opt-in and sampled: a
   * 10M-record batch must not emit 10M spans. @defaultValue 0
   */
  recordSampleRatio?: number;
  /** Records per model call (`MODEL_BATCH_SIZE`). @defaultValue the chunk, up to 1024 */
  modelBatchSize?: number;
}

const toJsonLines = (rows: readonly unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Wall-clock time of a `performance.now()` reading, for spans recorded after the fact. */
const hrTimeAt = (perfNow: number): HrTime => {
  const ms = performance.timeOrigin + perfNow;
  return [Math.floor(ms / 1000), Math.floor((ms % 1000) * 1e6)];
};

/**
 * Moves records whose feature count the model does not take from `records` to `errors`
 * (record errors). Returns whether it moved any.
 */
function dropMismatched(records: ParsedRecord[], errors: RecordError[], inputSize: number | undefined): boolean {
  if (inputSize === undefined) return false;
  let kept = 0;
  for (const r of records) {
    if (r.features.length === inputSize) records[kept++] = r;
    else {
      errors.push({
        line: r.line,
        id: r.id,
        code: 'FEATURE_COUNT_MISMATCH',
        error: `expected ${inputSize} features, got ${r.features.length}`,
      });
    }
  }
  const dropped = kept !== records.length;
  records.length = kept;
  return dropped;
}

/** Sorts `errors[from..]` by line, in place (a model batch's errors: parse, width and model errors). */
function sortFrom(errors: RecordError[], from: number): void {
  const tail = errors.slice(from).sort((a, b) => a.line - b.line);
  for (let i = 0; i < tail.length; i++) errors[from + i] = tail[i] as RecordError;
}

export class RecordPipeline {
  private readonly scorer: SubBatchScorer;

  constructor(private readonly options: RecordPipelineOptions = {}) {
    this.scorer = new SubBatchScorer(options.modelBatchSize);
  }

  /** Per-record spans are on: only then are a model batch's rows gathered for them. */
  private get sampling(): boolean {
    return (this.options.recordSampleRatio ?? 0) > 0;
  }

  /**
   * Parses, scores and serialises the chunk's records one model batch (`MODEL_BATCH_SIZE`)
   * at a time, then writes its files. Each batch is a `data_preparation` span and a
   * `model_inference` span. A record that cannot be parsed or scored is a record error;
   * failures of the model as a whole propagate (the attempt fails). `beforeWrite` runs after
   * scoring and before any file is written; what it throws propagates and nothing is
   * written (a batch cancelled meanwhile).
   */
  async score(
    chunk: ChunkData,
    model: Model,
    sink: OutputSink,
    signal?: AbortSignal,
    beforeWrite?: () => Promise<void>,
  ): Promise<ScoredChunk> {
    const cursor = new RecordCursor(chunk);
    const batchSize = this.scorer.batchSizeFor(cursor.remaining);
    const errors: RecordError[] = [];
    // Each model batch's lines, serialised as soon as it is scored: the chunk's records never
    // all live at once, only its output text.
    const parts: string[] = [];
    const scored: ScoredChunk = { succeeded: 0, failed: 0, latencyMs: 0, predictionSum: 0, predictionCount: 0 };
    while (cursor.remaining > 0) {
      const records: ParsedRecord[] = [];
      const prepareStart = performance.now();
      const errorsBefore = errors.length;
      inSpanSync(SPAN.dataPreparation, {}, (span) => {
        const linesBefore = cursor.remaining;
        cursor.take(batchSize, records, errors);
        if (dropMismatched(records, errors, model.inputSize)) sortFrom(errors, errorsBefore);
        span.setAttributes({
          [ATTR.chunkRecords]: linesBefore - cursor.remaining,
          [ATTR.recordsSucceeded]: records.length,
          [ATTR.recordsFailed]: errors.length - errorsBefore,
        });
        if (this.sampling)
          this.recordSpans(context.active(), hrTimeAt(prepareStart), hrTimeAt(performance.now()), errors.slice(errorsBefore));
      });
      if (records.length === 0) continue;
      const prepared = errors.length;
      const lines = await this.predict(records, model, errors, scored, signal);
      if (lines.length > 0) parts.push(joinLines(lines));
      // Errors stay in line order: the model's refusals sort among this batch's parse errors.
      if (errors.length > prepared && prepared > errorsBefore) sortFrom(errors, errorsBefore);
    }
    scored.failed = errors.length;
    await beforeWrite?.();
    await this.write(chunk, sink, parts.length > 0 ? parts.join('') : undefined, errors, signal);
    return scored;
  }

  /**
   * Scores one model batch: its output lines, straight from the score columns (no object per
   * record), its record errors into `errors`, its counts and prediction sum into `scored`.
   */
  private async predict(
    records: ParsedRecord[],
    model: Model,
    errors: RecordError[],
    scored: ScoredChunk,
    signal: AbortSignal | undefined,
  ): Promise<string[]> {
    const predictSpan = tracer.startSpan(SPAN.modelInference, attrs({ [ATTR.model]: model.name, [ATTR.chunkRecords]: records.length }));
    const inferStart = performance.now();
    let report: ScoreReport;
    try {
      const rows = new Array<readonly number[]>(records.length);
      for (let i = 0; i < records.length; i++) rows[i] = (records[i] as ParsedRecord).features;
      report = await this.scorer.score(model, rows, { signal });
      predictSpan.setAttributes({ [ATTR.modelSubBatchSize]: report.subBatchSize, [ATTR.modelCalls]: report.calls });
    } catch (err) {
      recordError(predictSpan, err);
      throw err;
    } finally {
      predictSpan.end();
    }
    const inferEnd = performance.now();
    scored.latencyMs += inferEnd - inferStart;
    const lines: string[] = [];
    const { predictions, probabilities, errors: scoreErrors } = report;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as ParsedRecord;
      const scoreError = scoreErrors.size > 0 ? scoreErrors.get(i) : undefined;
      if (scoreError) {
        errors.push({ line: record.line, id: record.id, code: scoreError.code, error: scoreError.error });
        continue;
      }
      const prediction = predictions[i] as Prediction;
      lines.push(predictionLine(record.id, prediction, probabilities?.[i], record.input));
      if (typeof prediction === 'number') {
        scored.predictionSum += prediction;
        scored.predictionCount++;
      }
    }
    scored.succeeded += lines.length;
    if (this.sampling) {
      const kept = scoreErrors.size > 0 ? records.filter((_, i) => !scoreErrors.has(i)) : records;
      this.recordSpans(trace.setSpan(context.active(), predictSpan), hrTimeAt(inferStart), hrTimeAt(inferEnd), kept);
    }
    return lines;
  }

  /**
   * A chunk that failed for good: every one of its records goes to its error file (with the
   * reason), and its part is removed. Returns how many records that is.
   */
  async writeFailed(chunk: ChunkData, parsed: ParsedChunk, sink: OutputSink | undefined, reason: string): Promise<number> {
    const { records, errors } = parsed;
    const all: RecordError[] = [
      ...errors,
      ...records.map((r) => ({ line: r.line, id: r.id, code: 'CHUNK_FAILED' as const, error: reason })),
    ];
    all.sort((a, b) => a.line - b.line);
    if (sink) await this.write(chunk, sink, undefined, all);
    return all.length;
  }

  /** Writes the part and the error file whole, or removes what a chunk no longer has. */
  private async write(
    chunk: ChunkData,
    sink: OutputSink,
    part: string | undefined,
    errors: RecordError[],
    signal?: AbortSignal,
  ): Promise<void> {
    const writeSpan = tracer.startSpan('batchinfer.output.write');
    // A split's lines count from its start until the batch closes (`split-lines.ts`).
    const rows = chunk.split ? errors.map(({ line, ...rest }) => ({ splitLine: line, ...rest })) : errors;
    const errorLines = rows.length > 0 ? toJsonLines(rows) : undefined;
    writeSpan.setAttribute(ATTR.outputBytes, (part?.length ?? 0) + (errorLines?.length ?? 0));
    try {
      signal?.throwIfAborted();
      await Promise.all([
        part ? sink.write(partName(chunk.chunkIndex), part) : sink.remove(partName(chunk.chunkIndex)),
        errorLines ? sink.write(errorsName(chunk.chunkIndex), errorLines) : sink.remove(errorsName(chunk.chunkIndex)),
      ]);
    } catch (err) {
      recordError(writeSpan, err);
      throw err;
    } finally {
      writeSpan.end();
    }
  }

  /**
   * Per-record spans, when opted in: a sample of the chunk's records, each under the span
   * of the step that decided its fate (inference for predictions, preparation for errors).
   */
  private recordSpans(
    parent: Context,
    start: HrTime,
    end: HrTime,
    rows: Array<{ id?: string | number; line: number; error?: string }>,
  ): void {
    const ratio = this.options.recordSampleRatio ?? 0;
    for (const row of rows) {
      if (Math.random() >= ratio) continue;
      const attributes: Record<string, string | number> = {
        [ATTR.recordLine]: row.line,
        [ATTR.recordOutcome]: row.error ? 'error' : 'predicted',
      };
      if (row.id !== undefined) attributes[ATTR.recordId] = row.id;
      if (row.error) attributes[ATTR.recordError] = row.error;
      tracer.startSpan('batchinfer.record', { startTime: start, attributes }, parent).end(end);
    }
  }
}
