/**
 * Noticing ingests whose producer died, and resuming them.
 *
 * Who notices: producers. Every producer sweeps the ingesting batches at start-up and then
 * every half lease, and claims the lease of any batch whose lease lapsed. Producers scale to
 * zero, so "a producer is alive" is the question: a producer killed mid-ingest (OOM) is
 * restarted by its pod and sweeps at start-up; on node loss or scale-to-zero, the next
 * request (a submission, a status poll, the next scheduled tick) starts one. Until then the
 * batch shows `ingesting`, never a half-counted `completed`. Consumers are not asked to
 * notice: they may be scaled to zero themselves (nothing was enqueued yet) and do not ingest.
 *
 * Resuming re-reads the dataset from the start, only if it is the version the first attempt
 * read (recorded before the first chunk was enqueued); a dataset whose source gave no
 * version, or that changed, fails the batch with the reason instead.
 */
import type { Logger } from 'pino';
import type { BatchCloser } from '../shared/batch/batch-closer.js';
import type { BatchStore } from '../shared/batch/batch-store.js';
import type { BatchService } from './batch-service.js';
import type { IngestLeases } from './ingest-lease.js';

export interface IngestRecoveryDeps {
  store: BatchStore;
  /** Fails the batches that cannot be resumed (and announces their end). */
  closer: BatchCloser;
  leases: IngestLeases;
  service: BatchService;
  logger: Logger;
}

export class IngestRecovery {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(private readonly deps: IngestRecoveryDeps) {}

  /** Sweeps now, then every half lease, until {@link stop}. */
  start(): void {
    let busy = false;
    const tick = (): void => {
      if (busy) return; // a slow sweep (Redis restarting) is not stacked on
      busy = true;
      this.sweeping = this.sweep()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'ingest recovery sweep failed'))
        .finally(() => (busy = false));
    };
    tick();
    this.timer = setInterval(tick, Math.max(100, Math.floor(this.deps.leases.leaseMs / 2)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One pass: heartbeat, then take over every ingesting batch whose lease lapsed. */
  async sweep(): Promise<void> {
    const { store, closer, leases, service, logger } = this.deps;
    await leases.heartbeat();
    for (const id of await store.listIngesting()) {
      if (service.isIngesting(id)) continue;
      const { outcome, attempt } = await leases.claim(id);
      const log = logger.child({ batch_id: id });
      if (outcome === 'exhausted') {
        const reason = `ingest failed: interrupted ${attempt} time(s) (its producer died or was stopped); INGEST_ATTEMPTS is spent`;
        if (await closer.halt(id, 'failed', reason, 'INGEST_ATTEMPTS_EXHAUSTED'))
          log.error({ attempts: attempt }, 'ingest lost too often: batch failed');
        continue;
      }
      if (outcome !== 'claimed') continue;
      const stored = await store.getRequest(id);
      if (!stored) continue;
      if (stored.datasetVersion === '') {
        // Opened before, but its source offered no version: a re-read might be another file.
        const reason =
          'ingest failed: interrupted, and cannot resume because the dataset source gives no version (ETag or Last-Modified) to prove it unchanged';
        if (await closer.halt(id, 'failed', reason, 'INGEST_NOT_RESUMABLE'))
          log.error('ingest interrupted and not resumable: batch failed');
        continue;
      }
      log.warn({ attempt }, 'ingest lost its producer: resuming from the start');
      service.resume(id, stored.request, { attempt, expectedVersion: stored.datasetVersion, traceId: stored.traceId });
    }
  }
}
