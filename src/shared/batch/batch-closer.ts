/**
 * Closes a batch once every chunk is accounted for: writes `manifest.json`, then moves the
 * batch to `completed` (or `failed` when chunks failed). Whoever accounts the last piece
 * closes it: the consumer of the last chunk, or the producer when ingest ends last. Closing
 * twice is harmless: the manifest is rewritten whole and only one status change wins.
 * Halting (an ingest that failed, a cancellation) ends a batch too, without a manifest, and
 * goes through here as well, so that every batch's end reaches the same hooks once.
 */
import type { Logger } from 'pino';
import { describeBatchError } from './batch-error.js';
import type { BatchStore } from './batch-store.js';
import type { InputObject, SplitLineLedger } from './split-lines.js';
import { redactUrl } from '../observability/redact.js';
import { MANIFEST_NAME } from '../io/sinks/output-layout.js';
import { openBatchFolder } from '../io/sinks/registry.js';
import { ATTR, inSpan } from '../observability/tracing.js';
import type { BatchSummary, BatchView } from '../types.js';

export interface Manifest extends BatchSummary {
  batchId: string;
  status: 'completed' | 'failed';
  model: string;
  datasetUrl: string;
  labels: Record<string, string>;
  output: string;
  parts: string[];
  errorFiles: string[];
  counts: { records: BatchView['records']; chunks: BatchView['chunks'] };
  failedChunks: number[];
  cost: BatchView['cost'];
  timings: { createdAt: string; ingestedAt: string | null; completedAt: string; durationMs: number };
  /** Failed chunks and the first one's cause: `2 chunk(s) failed: 3, 7; first: CODE: message (chunk 3, 2 attempt(s))`. */
  error?: string;
  /** The first failed chunk's code (the status API's `error.code`). */
  errorCode?: string;
  /** What the model said about itself (type, class labels, digest), when it says anything. */
  modelInfo?: Record<string, unknown>;
  /** The batch's trace, when tracing was on. */
  traceId?: string;
  /** The objects a split batch read: URL (credentials left out), size and version at planning. */
  inputs?: InputObject[];
}

/**
 * How a batch ended: `closed` when every chunk was accounted (its manifest written), or
 * `halted` when its ingest failed or it was cancelled (no manifest; counts are those so far).
 */
export type BatchEnding = { kind: 'closed'; manifest: Manifest } | { kind: 'halted'; view: BatchView; summary: BatchSummary };

/**
 * Called after a batch reached its final status (e.g. to emit `batch.completed`), inside the
 * closing (or halting) span. Runs exactly once per batch: only the process whose `finish`
 * or `halt` transition won runs hooks.
 */
export type BatchEndedHook = (ending: BatchEnding) => Promise<void>;

export function buildSummary(view: BatchView, inputs: { predictionSum: number; predictionCount: number; latencyMs: number }): BatchSummary {
  const total = view.records.succeeded + view.records.failed;
  return {
    total_records: total,
    avg_prediction: inputs.predictionCount > 0 ? inputs.predictionSum / inputs.predictionCount : null,
    total_latency_ms: inputs.latencyMs,
    avg_latency_ms: view.records.succeeded > 0 ? inputs.latencyMs / view.records.succeeded : 0,
    total_cost_usd: view.cost.usd,
    cost_per_record_usd: total > 0 ? view.cost.usd / total : 0,
  };
}

export class BatchCloser {
  private readonly hooks: BatchEndedHook[] = [];

  /**
   * @param outputRoot - this process's `OUTPUT_URL`: manifests are written only below it.
   * @param splitLines - makes split chunks' error lines absolute at close (absent: none are rewritten).
   */
  constructor(
    private readonly store: BatchStore,
    private readonly logger: Logger,
    private readonly outputRoot: string,
    private readonly splitLines?: SplitLineLedger,
  ) {}

  onEnded(hook: BatchEndedHook): void {
    this.hooks.push(hook);
  }

  /**
   * Stops a batch that has not finished (`BatchStore.halt`): its ingest failed, or it was
   * cancelled. Returns false when it had already ended; only the call that ended it runs the
   * hooks. `code` is the error's stable code.
   */
  halt(batchId: string, status: 'failed' | 'cancelled', error: string, code?: string): Promise<boolean> {
    return inSpan('batchinfer.batch.halt', { attributes: { [ATTR.batchId]: batchId, [ATTR.batchStatus]: status } }, async () => {
      if (!(await this.store.halt(batchId, status, error, code))) return false;
      // The batch has ended whatever happens next: a failure to announce it is logged, not thrown.
      try {
        const view = await this.store.get(batchId);
        if (view)
          await this.runHooks(batchId, { kind: 'halted', view, summary: buildSummary(view, await this.store.getSummaryInputs(batchId)) });
      } catch (err) {
        this.logger.error({ err, batch_id: batchId }, 'could not read the halted batch to announce its end');
      }
      return true;
    });
  }

  private async runHooks(batchId: string, ending: BatchEnding): Promise<void> {
    for (const hook of this.hooks) {
      try {
        await hook(ending);
      } catch (err) {
        this.logger.error({ err, batch_id: batchId }, 'batch-ended hook failed');
      }
    }
  }

  /** Closes the batch if it is ready; returns its manifest, or undefined when another process closed it. */
  close(batchId: string): Promise<Manifest | undefined> {
    return inSpan('batchinfer.batch.close', { attributes: { [ATTR.batchId]: batchId } }, async (span) => {
      const manifest = await this.closeInSpan(batchId);
      span.setAttribute(ATTR.batchStatus, manifest?.status ?? 'closed-elsewhere');
      return manifest;
    });
  }

  private async closeInSpan(batchId: string): Promise<Manifest | undefined> {
    const view = await this.store.get(batchId);
    if (!view || view.status !== 'running') return undefined;
    // Through the same containment rule as every chunk's writes: the manifest too stays inside
    // this process's OUTPUT_URL, whatever the batch's stored output location says.
    const sink = openBatchFolder(view.output.url, batchId, this.outputRoot);
    // Every chunk is accounted, so any write still unfinished is a crashed consumer's.
    let names: string[] = [];
    let sinkError: Error | undefined;
    let split: boolean | undefined;
    try {
      await sink.discardIncomplete();
      names = (await sink.list()).sort();
      split = await this.splitLines?.rewriteErrorFiles(batchId, sink, names, view.datasetUrl);
    } catch (err) {
      sinkError = err as Error;
    }
    if (split) {
      // Planning estimated the record count; every split is read now.
      view.records.total = view.records.read = view.records.succeeded + view.records.failed;
      await this.splitLines?.setRecordsTotal(batchId, view.records.total);
    }
    const status = view.chunks.failed > 0 ? 'failed' : 'completed';
    const completedAt = new Date().toISOString();
    const inputs = await this.store.getSummaryInputs(batchId);
    const manifest: Manifest = {
      batchId,
      status,
      model: view.model,
      // The manifest outlives the batch and is read by others: no credentials or signatures.
      datasetUrl: redactUrl(view.datasetUrl),
      labels: view.labels,
      output: sink.url,
      parts: names.filter((n) => n.startsWith('part-')),
      errorFiles: names.filter((n) => n.startsWith('errors-')),
      counts: { records: view.records, chunks: view.chunks },
      failedChunks: view.failedChunks,
      cost: view.cost,
      timings: {
        createdAt: view.createdAt,
        ingestedAt: view.ingestedAt,
        completedAt,
        durationMs: Date.parse(completedAt) - Date.parse(view.createdAt),
      },
      ...buildSummary(view, inputs),
    };
    if (status === 'failed') {
      const failed = `${view.chunks.failed} chunk(s) failed: ${view.failedChunks.join(', ')}`;
      manifest.error = inputs.firstFailure ? `${failed}; first: ${describeBatchError(inputs.firstFailure)}` : failed;
      manifest.errorCode = inputs.firstFailure?.code ?? 'CHUNK_FAILED';
    }
    const notes = await this.store.modelNotes.read(batchId);
    if (notes.info) manifest.modelInfo = notes.info;
    if (view.traceId) manifest.traceId = view.traceId;
    if (split && this.splitLines) manifest.inputs = await this.splitLines.inputs(batchId);
    if (!sinkError)
      await sink.write(MANIFEST_NAME, JSON.stringify(manifest, null, 2) + '\n').catch((err: unknown) => (sinkError = err as Error));
    if (sinkError) {
      // A batch that would complete is closed again by the retry of its last chunk; a failed
      // one (often failed by this very output location) ends failed without its manifest
      // rather than staying `running` forever.
      if (status === 'completed') throw sinkError;
      manifest.error = `${manifest.error ?? ''}; manifest not written: ${sinkError.message}`;
      this.logger.error({ err: sinkError, batch_id: batchId }, 'could not write the manifest of a failed batch');
    }
    if (!(await this.store.finish(batchId, status, manifest.error))) return undefined;
    this.logger.info({ batch_id: batchId, status, records: manifest.total_records, cost_usd: manifest.total_cost_usd }, 'batch closed');
    await this.runHooks(batchId, { kind: 'closed', manifest });
    return manifest;
  }
}
