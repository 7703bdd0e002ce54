/**
 * Shutdown as one path: the first SIGTERM/SIGINT runs the drain (stop taking work, finish
 * or hand back what is in flight, close Redis), then flushes telemetry (the spans of the
 * work just finished, the drain's last ones included), and exits 0; a second signal, or a
 * drain that hangs past its deadline, exits at once with 1.
 */
import type { Logger } from 'pino';

export type DrainStep = () => Promise<void>;

export interface ShutdownOptions {
  logger: Logger;
  /** Hard deadline for the whole drain. */
  deadlineMs: number;
  /** Defaults to process.exit; tests pass their own. */
  exit?: (code: number) => void;
  /**
   * Runs after the drain, whether it succeeded or not, before exit: exports buffered spans.
   * Must bound its own time (see `Telemetry.shutdown`).
   */
  flushTelemetry?: () => Promise<void>;
}

export function installShutdown(drain: DrainStep, options: ShutdownOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      options.logger.warn({ signal }, 'second signal: exiting without finishing the drain');
      exit(1);
      return;
    }
    draining = true;
    options.logger.info({ signal }, 'draining');
    const timer = setTimeout(() => {
      options.logger.error({ deadline_ms: options.deadlineMs }, 'drain deadline passed: exiting');
      exit(1);
    }, options.deadlineMs);
    timer.unref();
    const flush = (): Promise<void> => (options.flushTelemetry ? options.flushTelemetry() : Promise.resolve());
    drain()
      .then(
        async () => {
          options.logger.info('drained');
          await flush();
          return 0;
        },
        async (err: unknown) => {
          options.logger.error({ err }, 'drain failed');
          await flush();
          return 1;
        },
      )
      .then((code) => {
        clearTimeout(timer);
        options.logger.flush();
        exit(code);
      }, () => exit(1));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
