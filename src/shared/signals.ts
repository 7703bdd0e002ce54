/**
 * Shutdown as one path: the first SIGTERM/SIGINT runs the drain (stop taking work, finish
 * or hand back what is in flight, flush telemetry, close Redis) and exits 0; a second
 * signal, or a drain that hangs past its deadline, exits at once with 1.
 *
 * Install it before the service starts: a pod can be told to stop while it is still
 * starting (Knative scaling a cold start back down), and the default Node behaviour, dying
 * on the signal with code 143, would skip the drain.
 */
import type { Logger } from 'pino';

export type DrainStep = () => Promise<void>;

export interface ShutdownOptions {
  logger: Logger;
  /**
   * Hard deadline for the whole drain. Keep it inside the pod's grace period (on Knative,
   * the revision's `timeoutSeconds` minus the queue-proxy's 30 s drain before SIGTERM).
   */
  deadlineMs: number;
  /** Defaults to process.exit; tests pass their own. */
  exit?: (code: number) => void;
}

/** Longest wait for buffered log lines before exiting anyway. */
const LOG_FLUSH_TIMEOUT_MS = 2000;

export function installShutdown(drain: DrainStep, options: ShutdownOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const { logger } = options;
  let draining = false;
  let exited = false;
  // Exit once the log lines written so far are out (pino's async destination buffers them).
  const flushThenExit = (code: number): void => {
    if (exited) return;
    exited = true;
    const fallback = setTimeout(() => exit(code), LOG_FLUSH_TIMEOUT_MS);
    fallback.unref();
    logger.flush(() => {
      clearTimeout(fallback);
      exit(code);
    });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      logger.warn({ signal }, 'second signal: exiting without finishing the drain');
      flushThenExit(1);
      return;
    }
    draining = true;
    logger.info({ signal, deadline_ms: options.deadlineMs }, 'draining');
    const timer = setTimeout(() => {
      logger.error({ deadline_ms: options.deadlineMs }, 'drain deadline passed: exiting');
      flushThenExit(1);
    }, options.deadlineMs);
    timer.unref();
    drain().then(
      () => {
        clearTimeout(timer);
        logger.info('drained');
        flushThenExit(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        logger.error({ err }, 'drain failed');
        flushThenExit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
