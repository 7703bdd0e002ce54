/**
 * Shutdown as one path: the first SIGTERM/SIGINT runs the drain (stop taking work, finish
 * or hand back what is in flight, flush telemetry, close Redis) and exits 0; a second
 * signal, or a drain that hangs past its deadline, exits at once with 1.
 */
import type { Logger } from 'pino';

export type DrainStep = () => Promise<void>;

export interface ShutdownOptions {
  logger: Logger;
  /** Hard deadline for the whole drain. */
  deadlineMs: number;
  /** Defaults to process.exit; tests pass their own. */
  exit?: (code: number) => void;
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
    drain().then(
      () => {
        clearTimeout(timer);
        options.logger.info('drained');
        options.logger.flush();
        exit(0);
      },
      (err: unknown) => {
        options.logger.error({ err }, 'drain failed');
        options.logger.flush();
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
