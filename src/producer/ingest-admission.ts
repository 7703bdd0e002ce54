/**
 * Load shedding for the producer: at most `MAX_CONCURRENT_INGESTS` datasets are read at
 * once. A submission past the limit is refused at once with 429 and `Retry-After` (a
 * {@link TooManyRequestsError}) before anything is stored, so a client that retries (with
 * the same idempotency key) gets one batch, and the ingests already running keep their pace.
 */
import { TooManyRequestsError } from '../shared/errors.js';

/** How long a shed client is asked to wait: about the time a small dataset takes to ingest. */
export const RETRY_AFTER_SECONDS = 5;

/** A reserved ingest slot; releasing it twice is harmless. */
export interface IngestSlot {
  release(): void;
}

export class IngestAdmission {
  private inUse = 0;

  constructor(private readonly limit: number) {}

  /** Slots taken: ingests running plus submissions being admitted. */
  get active(): number {
    return this.inUse;
  }

  /**
   * Takes a slot synchronously (so concurrent submissions cannot overshoot), or throws 429.
   * `overLimit` takes one even past the limit (still counted, so others stay shed): for a
   * scheduler's tick, which a refusal would lose (a PingSource drops a tick after a few
   * quick retries).
   */
  acquire(overLimit = false): IngestSlot {
    if (this.inUse >= this.limit && !overLimit) throw new TooManyRequestsError(RETRY_AFTER_SECONDS);
    this.inUse++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.inUse--;
      },
    };
  }
}
