/**
 * Container entrypoints: `batchinfer producer` and `batchinfer consumer`. Each reads its
 * configuration once (a malformed variable stops it with one line), logs JSON to stdout,
 * and drains on SIGTERM, including a SIGTERM that arrives while it is still starting.
 */
import { loadConfig } from '../shared/config.js';
import type { Config } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import type { Logger } from '../shared/logger.js';
import { installShutdown } from '../shared/signals.js';

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

async function runService(name: string, start: (config: Config, logger: Logger) => Promise<{ drain(): Promise<void> }>): Promise<number> {
  const config = loadConfig();
  const logger = serviceLogger(name, config);
  const started = start(config, logger);
  installShutdown(async () => (await started).drain(), { logger, deadlineMs: drainDeadlineMs(config) });
  await started;
  return untilSignal();
}

export async function producerCommand(): Promise<number> {
  const { startProducer } = await import('../producer/producer-service.js');
  return runService('producer', startProducer);
}

export async function consumerCommand(): Promise<number> {
  const { startConsumer } = await import('../consumer/consumer-service.js');
  return runService('consumer', startConsumer);
}
