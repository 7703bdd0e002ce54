/**
 * Sends `batch.completed` to `K_SINK` when one is set, for every batch that ends: closed,
 * failed in ingest, or cancelled. The closer runs hooks only in the process whose final
 * status transition won, so each batch sends one event. The sender
 * (and the CloudEvents SDK it uses) is loaded on the first close, not at start-up: a
 * consumer scaling from zero should not pay for it before its first chunk.
 */
import type { Logger } from 'pino';
import type { BatchCloser } from '../batch/batch-closer.js';
import type { Config } from '../config/config.js';
import type { DeliveryOptions } from './event-delivery.js';

export function installCompletionEvents(
  closer: BatchCloser,
  config: Pick<Config, 'kSink' | 'kCeOverrides'>,
  logger: Logger,
  options?: DeliveryOptions,
): void {
  const sink = config.kSink;
  if (!sink) return;
  closer.onEnded(async (ending) => {
    const { sendCompletionEvent } = await import('./completion-event.js');
    await sendCompletionEvent(ending, sink, config.kCeOverrides, logger, options);
  });
}
