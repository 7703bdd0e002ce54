/**
 * Container entrypoints: `batchinfer producer` and `batchinfer consumer`. Each reads its
 * configuration once (a malformed variable stops it with one line), logs JSON to stdout,
 * and drains on SIGTERM.
 */
import { loadConfig } from '../shared/config.js';
import type { Config } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import type { Logger } from '../shared/logger.js';
import { installShutdown } from '../shared/signals.js';

function serviceLogger(service: string, config: Config): Logger {
  const base: Record<string, string> = {};
  if (config.knative.revision) base.k_revision = config.knative.revision;
  return createLogger({ service, level: config.logLevel, base });
}

/** Waits forever: the process lives until a signal drains it. */
const untilSignal = (): Promise<number> => new Promise<number>(() => undefined);

export async function producerCommand(): Promise<number> {
  const config = loadConfig();
  const logger = serviceLogger('producer', config);
  const { startProducer } = await import('../producer/producer-service.js');
  const service = await startProducer(config, logger);
  installShutdown(() => service.drain(), { logger, deadlineMs: (config.drainTimeoutSeconds + 10) * 1000 });
  return untilSignal();
}

export async function consumerCommand(): Promise<number> {
  const config = loadConfig();
  const logger = serviceLogger('consumer', config);
  const { startConsumer } = await import('../consumer/consumer-service.js');
  const service = await startConsumer(config, logger);
  installShutdown(() => service.drain(), { logger, deadlineMs: (config.drainTimeoutSeconds + 10) * 1000 });
  return untilSignal();
}
