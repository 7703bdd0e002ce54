/**
 * Why a chunk attempt failed, as a metric label. Error messages would make one time series
 * per message; this keeps a small fixed set: the stable `code` of our own errors, or a
 * coarse class for everything else.
 */
import { UnrecoverableError } from 'bullmq';
import { InvalidChunkEventError } from '../shared/events/chunk-event.js';
import { BatchinferError } from '../shared/errors.js';

/** A chunk BullMQ gave up on because its consumers kept dying (OOM, node loss). */
export const STALLED = 'stalled';
/** A chunk handed back to the queue because its consumer was shutting down. */
export const SHUTDOWN = 'shutdown';

export function failureReason(err: unknown): string {
  if (err instanceof BatchinferError) return err.code.toLowerCase();
  if (err instanceof InvalidChunkEventError) return err.code.toLowerCase();
  if (err instanceof UnrecoverableError) return 'unrecoverable';
  const code = (err as { code?: unknown } | null)?.code;
  // Node system errors (ENOSPC, EACCES, ECONNRESET...): a bounded set worth telling apart.
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `system_${code.toLowerCase()}`;
  if (err instanceof Error && err.name === 'AbortError') return 'aborted';
  return 'error';
}

/**
 * The stable code of a chunk's final failure, as the batch status shows it: the metric
 * label in capitals (`MODEL_NOT_FOUND`, `STALLED`, `SYSTEM_ENOSPC`), or `CHUNK_FAILED` for an
 * error that carries no code of its own.
 */
export function failureCode(reason: string): string {
  return reason === 'error' ? 'CHUNK_FAILED' : reason.toUpperCase();
}
