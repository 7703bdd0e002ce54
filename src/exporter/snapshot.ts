/**
 * One consistent-enough view of the queue and the accounting, shared by `/metrics`, the
 * JSON API and the page's history sampler. Concurrent callers share one read, and a read
 * younger than a second is reused, so a scrape storm or many open pages cost Redis no more
 * than one scraper.
 */
import type { Accounting } from './accounting-reader.js';
import type { AccountingReader } from './accounting-reader.js';
import type { QueueReader, QueueState } from './queue-reader.js';

export interface Snapshot {
  /** When it was read, epoch ms. */
  atMs: number;
  queue: QueueState;
  accounting: Accounting;
}

/** Reads younger than this are reused. */
export const SNAPSHOT_MAX_AGE_MS = 1000;

export class SnapshotSource {
  private last: Snapshot | undefined;
  private inflight: Promise<Snapshot> | undefined;

  constructor(
    private readonly queue: QueueReader,
    private readonly accounting: AccountingReader,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<Snapshot> {
    if (this.last && this.now() - this.last.atMs < SNAPSHOT_MAX_AGE_MS) return this.last;
    this.inflight ??= this.read().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async read(): Promise<Snapshot> {
    const atMs = this.now();
    const [queue, accounting] = await Promise.all([this.queue.read(atMs), this.accounting.read(atMs)]);
    this.last = { atMs, queue, accounting };
    return this.last;
  }
}
