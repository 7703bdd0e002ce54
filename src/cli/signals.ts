/**
 * Shutdown as one path: the first SIGTERM/SIGINT runs the drain (stop taking work, finish
 * or hand back what is in flight, close Redis), then flushes telemetry (the spans of the
 * work just finished, the drain's last ones included), and exits 0; a second signal, or a
 * drain that hangs past its deadline, exits at once with 1.
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
  /**
   * Runs after the drain, whether it succeeded or not, before exit: exports buffered spans.
   * Must bound its own time (see `Telemetry.shutdown`).
   */
  flushTelemetry?: () => Promise<void>;
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
    const flush = (): Promise<void> => (options.flushTelemetry ? options.flushTelemetry() : Promise.resolve());
    drain()
      .then(
        async () => {
          logger.info('drained');
          await flush();
          return 0;
        },
        async (err: unknown) => {
          logger.error({ err }, 'drain failed');
          await flush();
          return 1;
        },
      )
      .then(
        (code) => {
          clearTimeout(timer);
          flushThenExit(code);
        },
        () => flushThenExit(1),
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
