/** A chunk's accounting result for BatchStore tests: `succeeded` records at 2 each, small fixed costs. */
import { randomUUID } from 'node:crypto';
import type { ChunkResult } from '../../src/shared/batch/batch-store.js';
import { NO_OBSERVATION } from '../../src/shared/observability/histogram-buckets.js';

export const chunkResult = (succeeded: number, failed = 0, extra: Partial<ChunkResult> = {}): ChunkResult => ({
  succeeded,
  failed,
  predictionSum: succeeded * 2,
  predictionCount: succeeded,
  latencyMs: 1,
  chunkFailed: false,
  costUsd: 0.001,
  cpuSeconds: 0.01,
  allocatedCpuSeconds: 0.02,
  wallSeconds: 0.04,
  wait: NO_OBSERVATION,
  processing: NO_OBSERVATION,
  // Each result is its own attempt, as each call of the consumer's accounting is.
  attemptId: randomUUID(),
  ...extra,
});
