/**
 * Submitting a batch: create its state, answer at once, and ingest in the background.
 * Answering before ingest matters: a Knative PingSource gives up on a tick after a few fast
 * retries, so a slow answer would lose a scheduled run. Used by the HTTP API and by
 * `batchinfer run` alike.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { BatchCloser } from '../shared/batch/batch-closer.js';
import type { BatchStore } from '../shared/batch/batch-store.js';
import { isBatchinferError } from '../shared/errors.js';
import { redactUrl } from '../shared/observability/redact.js';
import { activeTraceId, ATTR, inSpan, recordError } from '../shared/observability/tracing.js';
import type { BatchRequest, BatchStatus } from '../shared/types.js';
import { addressPolicy } from '../shared/io/address-policy.js';
import { sourceFor } from '../shared/io/sources/registry.js';
import type { Resolver } from '../shared/io/address-policy.js';
import { BatchChecks } from './batch-checks.js';
import { IngestAdmission } from './ingest-admission.js';
import type { IngestSlot } from './ingest-admission.js';
import { ingest } from './ingest.js';
import type { IngestDeps } from './ingest.js';
import type { HeldLease, IngestLeases, LeaseLoss } from './ingest-lease.js';
import type { LabelValues } from '../shared/batch/label-values.js';

export interface SubmitResult {
  id: string;
  status: BatchStatus;
  /** False when an idempotency key matched an earlier batch. */
  created: boolean;
}

export interface SubmitOptions {
  /**
   * The trace the batch belongs to. Defaults to the active context (the HTTP request's
   * span); a CloudEvents route passes the event's context when the request carried none
   * (see `extractIncomingTrace`).
   */
  traceContext?: Context;
  /** Keys that identify the same submission besides its idempotency key (CloudEvent source + id, tick). */
  dedupeKeys?: readonly string[];
  /**
   * Admit even past `MAX_CONCURRENT_INGESTS`: a scheduled run, which a 429 would lose.
   * @defaultValue false
   */
  scheduled?: boolean;
}

/** A resumed ingest: its attempt number, the dataset version the first attempt read, its trace. */
export interface ResumeInfo {
  attempt: number;
  expectedVersion: string | undefined;
  /** The batch's trace, so the resumed ingest's spans join it. */
  traceId?: string | undefined;
}

/** Why this process stopped an ingest it was running. */
type StopReason = 'shutdown' | 'handed-back' | 'cancelled' | LeaseLoss;

const STOPPED: Record<Exclude<StopReason, 'shutdown'>, string> = {
  'handed-back': 'ingest handed back on shutdown: a live producer, or the next one to start, resumes it',
  cancelled: 'ingest stopped: batch cancelled',
  stopped: 'ingest stopped: batch is no longer ingesting (cancelled or failed)',
  lost: 'ingest stopped: another producer took it over',
};

/**
 * A parent in the batch's trace for a resumed ingest: only the trace id is kept with the
 * batch, so the parent span is a stand-in; the resumed spans still land in the batch's trace.
 */
function resumedTraceContext(traceId: string | undefined): Context {
  if (!traceId) return context.active();
  return trace.setSpanContext(context.active(), {
    traceId,
    spanId: randomBytes(8).toString('hex'),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

export class BatchService {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly admission: IngestAdmission;
  private readonly checks: BatchChecks;

  constructor(
    private readonly deps: IngestDeps & {
      store: BatchStore;
      closer: BatchCloser;
      logger: Logger;
      resolver?: Resolver;
      leases?: IngestLeases;
      /** Registers the batch's cost label values (cardinality cap); none in tests that do not need it. */
      labelValues?: LabelValues;
    },
  ) {
    this.admission = new IngestAdmission(deps.config.maxConcurrentIngests);
    this.checks = new BatchChecks(deps.config);
  }

  /** Number of ingests in progress (for shutdown and load shedding). */
  get activeIngests(): number {
    return this.running.size;
  }

  /**
   * Creates the batch and starts its ingest, unless a batch already holds the request's
   * idempotency key or one of `dedupeKeys` (e.g. a CloudEvent's source + id): then that
   * batch is returned and nothing new starts.
   *
   * Throws {@link TooManyRequestsError} when `MAX_CONCURRENT_INGESTS` are running (before
   * anything is stored, so a retry is clean), `DatasetRefusedError` when the dataset's host is
   * refused (before anything connects to it), and a `ValidationError` with the code when the
   * output location refuses writes (`OUTPUT_NOT_WRITABLE`) or the dataset is known missing
   * (`DATASET_NOT_FOUND`, `DATASET_FORBIDDEN`). A scheduled submission skips those two: its
   * batch is created and fails with the code, so the missed run shows and alerts.
   */
  async submit(request: BatchRequest, options: SubmitOptions = {}): Promise<SubmitResult> {
    const slot = this.admission.acquire(options.scheduled ?? false);
    try {
      // Network sources refuse private and metadata addresses here, before anything connects.
      const url = new URL(request.datasetUrl);
      await sourceFor(url, this.deps.config.datasetAllowedSchemes).admit(url, addressPolicy(this.deps.config), this.deps.resolver);
      if (!options.scheduled) await this.checks.atSubmit(request);
      const parent = options.traceContext ?? context.active();
      const id = randomUUID();
      trace.getSpan(context.active())?.setAttribute(ATTR.batchId, id);
      const dedupeKeys = options.dedupeKeys ?? [];
      const keys = request.idempotencyKey ? [request.idempotencyKey, ...dedupeKeys] : dedupeKeys;
      if (keys.length > 0) {
        const existing = await this.deps.store.claimIdempotencyKeys(keys, id);
        if (existing) {
          slot.release();
          const view = await this.deps.store.get(existing);
          return { id: existing, status: view?.status ?? 'ingesting', created: false };
        }
      }
      await this.create(id, request, keys, parent);
      this.startIngest(id, request, parent, slot);
      return { id, status: 'ingesting', created: true };
    } catch (err) {
      slot.release();
      throw err;
    }
  }

  /**
   * Stores the new batch. When that fails, the keys this submission claimed are given back:
   * left in place they would name a batch that does not exist, and every retry of the
   * submission (a PingSource redelivering its tick) would be answered with it.
   */
  private async create(id: string, request: BatchRequest, claimedKeys: readonly string[], parent: Context): Promise<void> {
    try {
      const other = (await this.deps.labelValues?.admitBatch(request.labels, request.model)) ?? [];
      if (other.length > 0) this.deps.logger.info({ batch_id: id, labels: other }, 'label values past the cap: published as other');
      await this.deps.store.create(id, request, activeTraceId(parent));
    } catch (err) {
      try {
        await this.deps.store.releaseIdempotencyKeys(claimedKeys, id);
      } catch (releaseErr) {
        // Redis is likely down: the keys expire with the batch TTL.
        this.deps.logger.warn({ err: releaseErr, batch_id: id }, 'could not release the idempotency keys of a batch that was not created');
      }
      throw err;
    }
  }

  /** Ingests again, from the start, a batch whose ingest lost its producer (lease claimed). */
  resume(id: string, request: BatchRequest, info: ResumeInfo): void {
    // Recovery is not admission-controlled: the batch was admitted when it was submitted.
    this.startIngest(id, request, resumedTraceContext(info.traceId), undefined, info);
  }

  /** Whether this process is ingesting `id`. */
  isIngesting(id: string): boolean {
    return this.running.has(id);
  }

  /** Stops this process's ingest of `id`, if any (the batch was cancelled). */
  stop(id: string): void {
    this.running.get(id)?.abort.abort('cancelled' satisfies StopReason);
  }

  private startIngest(id: string, request: BatchRequest, parent: Context, slot: IngestSlot | undefined, resume?: ResumeInfo): void {
    const abort = new AbortController();
    const log = this.deps.logger.child({ batch_id: id });
    const url = new URL(request.datasetUrl);
    const done = inSpan(
      'batchinfer.ingest',
      {
        attributes: {
          [ATTR.batchId]: id,
          [ATTR.model]: request.model,
          [ATTR.datasetFormat]: request.format,
          // Never the query string or user info: pre-signed URLs carry credentials there.
          [ATTR.datasetScheme]: url.protocol.replace(/:$/, ''),
          [ATTR.datasetHost]: url.host,
          [ATTR.datasetPath]: url.pathname,
        },
      },
      () => this.runIngest(id, request, abort, log, resume),
      parent,
    ).finally(() => {
      this.running.delete(id);
      slot?.release();
    });
    this.running.set(id, { abort, done });
  }

  /**
   * Holds the batch's ingest lease while ingesting (claiming it first for a new batch);
   * undefined when another producer has it. Without leases (tests), a no-op lease.
   */
  private async holdLease(id: string, abort: AbortController, log: Logger, resume?: ResumeInfo): Promise<HeldLease | undefined> {
    const { leases } = this.deps;
    if (!leases) return { release: () => Promise.resolve() };
    if (!resume) {
      const { outcome } = await leases.claim(id);
      if (outcome !== 'claimed') {
        log.warn({ outcome }, 'ingest not started: another producer has it');
        return undefined;
      }
    }
    return leases.hold(id, (loss) => abort.abort(loss satisfies StopReason));
  }

  private async runIngest(id: string, request: BatchRequest, abort: AbortController, log: Logger, resume?: ResumeInfo): Promise<void> {
    const { signal } = abort;
    const started = Date.now();
    let lease: HeldLease | undefined;
    try {
      lease = await this.holdLease(id, abort, log, resume);
      if (!lease) return;
      const attempt = resume?.attempt ?? 1;
      log.info(
        { dataset: redactUrl(request.datasetUrl), model: request.model, chunk_size: request.chunkSize, attempt },
        resume ? 'ingest resumed' : 'ingest started',
      );
      // Checked at submit already (then remembered), but not for scheduled runs and resumed ingests.
      await this.checks.output(request.outputUrl);
      const result = await ingest(this.deps, id, request, signal, {
        ...(resume ? { expectedVersion: resume.expectedVersion } : {}),
        // Recorded before the first chunk is enqueued, so a resumed ingest can check it.
        onVersion: (version) => this.deps.store.setDatasetVersion(id, version),
      });
      trace.getActiveSpan()?.setAttributes({ [ATTR.chunkCount]: result.chunks, [ATTR.recordCount]: result.records });
      const close = await this.deps.store.markIngested(id, result.chunks, result.records);
      log.info({ chunks: result.chunks, records: result.records, ms: Date.now() - started }, 'ingest finished');
      if (close === 'close') await this.deps.closer.close(id);
    } catch (err) {
      const stop = signal.aborted ? (signal.reason as StopReason) : undefined;
      if (stop !== undefined && stop !== 'shutdown') {
        log.warn({ reason: stop }, STOPPED[stop]);
        return;
      }
      const reason = stop === 'shutdown' ? 'producer shut down during ingest' : (err as Error).message;
      const code = stop === 'shutdown' ? 'INGEST_ABORTED' : isBatchinferError(err) ? err.code : 'INGEST_FAILED';
      const span = trace.getActiveSpan();
      if (span) recordError(span, err);
      log.error({ err, code }, 'ingest failed');
      try {
        // Through the closer: the batch's end is announced (batch.completed) like a close.
        await this.deps.closer.halt(id, 'failed', `ingest failed: ${reason}`, code);
      } catch (haltErr) {
        log.error({ err: haltErr }, 'could not mark the batch failed');
      }
    } finally {
      await lease?.release().catch((err: unknown) => log.warn({ err }, 'could not release the ingest lease'));
    }
  }

  /**
   * Waits for ingests in progress; past `timeoutMs` hands them back (lease released): a live
   * peer resumes them, or, when Knative scaled the last producer down mid-ingest (KPA saw no
   * request in flight), the next producer to start. One whose source gave no version cannot
   * be resumed and, with no peer, ends `failed` with a reason; never half-counted `completed`.
   */
  async drain(timeoutMs: number): Promise<void> {
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    if ((await Promise.race([all, timeout])) === 'timeout') {
      const peers = this.running.size > 0 ? await this.deps.leases?.livePeers().catch(() => 0) : 0;
      await Promise.all(
        [...this.running].map(async ([id, r]) => {
          const version = peers ? undefined : (await this.deps.store.getRequest(id).catch(() => null))?.datasetVersion;
          const reason: StopReason = peers || (this.deps.leases && version !== '') ? 'handed-back' : 'shutdown';
          r.abort.abort(reason);
        }),
      );
      await all;
    }
    clearTimeout(timer);
  }
}
