/**
 * Ctrl-C (SIGINT) or SIGTERM for the commands a person runs in a terminal (`run`,
 * `status --watch`): the first signal aborts the work, so the command's own `finally`
 * cleans up (consumers, the private Redis and its folder) and it exits 130; a second one
 * exits 130 at once, after the synchronous last-resort cleanup.
 */
import { EXIT } from './exit-codes.js';

export class InterruptedError extends Error {
  readonly code = 'INTERRUPTED';
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}; stopped and cleaned up`);
  }
}

export interface Interrupts {
  /** Aborted on the first signal; its reason is an {@link InterruptedError}. */
  readonly signal: AbortSignal;
  /** Throws the {@link InterruptedError} when a signal has arrived. */
  check(): void;
  /** Resolves never; rejects on the first signal (to race long waits against). */
  readonly rejected: Promise<never>;
  /** Stops listening (the command finished on its own). */
  dispose(): void;
}

/**
 * @param lastResort runs synchronously on the second signal, just before exiting: remove
 *   what must not be left behind even when the orderly cleanup is cut short.
 */
export function watchInterrupts(lastResort: () => void = () => undefined): Interrupts {
  const controller = new AbortController();
  let rejectWait: (err: Error) => void = () => undefined;
  const rejected = new Promise<never>((_resolve, reject) => (rejectWait = reject));
  // Nobody may be awaiting it when the signal comes; the abort reason carries the same error.
  rejected.catch(() => undefined);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      lastResort();
      process.exit(EXIT.interrupted);
    }
    const err = new InterruptedError(signal);
    controller.abort(err);
    rejectWait(err);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    check() {
      if (controller.signal.aborted) throw controller.signal.reason as Error;
    },
    rejected,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Waits `ms`, or rejects at once when interrupted. */
export function sleep(ms: number, interrupts: Interrupts): Promise<void> {
  return Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms)), interrupts.rejected]);
}
