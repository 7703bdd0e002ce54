/**
 * A deadline on reading a whole dataset (`DATASET_FETCH_TIMEOUT_SECONDS`). The idle timeout
 * catches a server that stops sending; this catches one that trickles a byte every few
 * seconds forever, which would otherwise hold an ingest slot (and a producer pod) for good.
 */
import type { Readable } from 'node:stream';
import { DatasetError } from '../../errors.js';

export class FetchDeadline {
  private readonly expired = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private guarded: Readable | undefined;
  /** Aborts when the caller's signal does or the deadline passes: give it to the source. */
  readonly signal: AbortSignal;

  constructor(timeoutMs: number | undefined, parent: AbortSignal) {
    this.signal = AbortSignal.any([parent, this.expired.signal]);
    if (timeoutMs === undefined) return;
    this.timer = setTimeout(() => this.expire(timeoutMs), timeoutMs);
    this.timer.unref();
  }

  private expire(timeoutMs: number): void {
    const err = new DatasetError(
      'DATASET_FETCH_TIMEOUT',
      `dataset was not read within ${timeoutMs / 1000} s (DATASET_FETCH_TIMEOUT_SECONDS)`,
    );
    // Destroy the reader's stream first, so the reader sees this error rather than the
    // abort that the signal below causes in the source.
    this.guarded?.destroy(err);
    this.expired.abort(err);
  }

  /** The stream the reader consumes: failed with `DATASET_FETCH_TIMEOUT` at the deadline. */
  guard(stream: Readable): Readable {
    this.guarded = stream;
    stream.once('close', () => this.clear());
    return stream;
  }

  /** An error met while opening: the deadline's own error when the deadline caused it. */
  explain(err: unknown): unknown {
    return this.expired.signal.aborted ? (this.expired.signal.reason as unknown) : err;
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
