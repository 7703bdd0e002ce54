/**
 * Container entrypoints: `batchinfer producer`, `batchinfer consumer` and `batchinfer exporter`.
 * Each reads its configuration once (a malformed variable stops it with one line), starts
 * tracing when it is configured (before any span can be started), logs JSON to stdout, and
 * on SIGTERM drains (also when the signal arrives while it is still starting), then flushes
 * its spans, then exits.
 */
import { loadConfig } from '../shared/config/config.js';
import type { Config } from '../shared/config/config.js';
import { createLogger } from '../shared/observability/logger.js';
import type { Logger } from '../shared/observability/logger.js';
import { exitWithParent } from './parent-watch.js';
import { installShutdown } from './signals.js';
import { startTelemetry } from '../shared/observability/telemetry.js';
import type { Telemetry } from '../shared/observability/telemetry.js';

/** Knative's `K_SERVICE` / `K_CONFIGURATION` / `K_REVISION` on every line, to find a pod's logs. */
function serviceLogger(service: string, config: Config): Logger {
  const base: Record<string, string> = {};
  if (config.knative.service) base.k_service = config.knative.service;
  if (config.knative.configuration) base.k_configuration = config.knative.configuration;
  if (config.knative.revision) base.k_revision = config.knative.revision;
  return createLogger({ service, level: config.logLevel, base });
}

/** Waits forever: the process lives until a signal drains it. */
const untilSignal = (): Promise<number> => new Promise<number>(() => undefined);

/** How long the drain may run in all: active work gets `DRAIN_TIMEOUT_SECONDS`, closing gets 10 s more. */
export const drainDeadlineMs = (config: Config): number => (config.drainTimeoutSeconds + 10) * 1000;

interface Service {
  drain(): Promise<void>;
}

async function runService(name: string, start: (config: Config, logger: Logger) => Promise<Service>): Promise<number> {
  const config = loadConfig();
  const logger = serviceLogger(name, config);
  const telemetry: Telemetry = await startTelemetry(config, { serviceName: `batchinfer-${name}`, logger });
  if (telemetry.enabled) logger.info('tracing enabled');
  const started = start(config, logger);
  installShutdown(async () => (await started).drain(), {
    logger,
    deadlineMs: drainDeadlineMs(config),
    flushTelemetry: () => telemetry.shutdown(),
  });
  try {
    await started;
  } catch (err) {
    await telemetry.shutdown();
    throw err;
  }
  return untilSignal();
}

export async function producerCommand(): Promise<number> {
  const { startProducer } = await import('../producer/producer-service.js');
  return runService('producer', startProducer);
}

export async function consumerCommand(): Promise<number> {
  // Started by `batchinfer run`: stop when it does, however it ends.
  exitWithParent();
  const { startConsumer } = await import('../consumer/consumer-service.js');
  return runService('consumer', startConsumer);
}

export async function exporterCommand(): Promise<number> {
  const { startExporter } = await import('../exporter/exporter-service.js');
  return runService('exporter', startExporter);
}
