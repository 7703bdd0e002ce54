/**
 * A batch as people read it, shared by `run` and `status`: state, counts, cost, wall time,
 * output folder and, when it failed, why. Also the exit code a batch's state maps to.
 */
import { fileURLToPath } from 'node:url';
import { describeBatchError } from '../shared/batch/batch-error.js';
import type { BatchView } from '../shared/types.js';
import { EXIT } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';
import { formatCount, formatDuration, formatRate, formatTime, formatUsd, formatUsdPerMillion } from './human-format.js';

/** Why CPU used can exceed CPU allocated: cost is priced at CPU_LIMIT, which consumers outside Kubernetes are not held to. */
const OVER_LIMIT_NOTE =
  'efficiency above 1 means the consumers used more CPU than the CPU_LIMIT their cost is priced at (they ran without that limit)';

/** The failure reason as one line: `CODE: message (chunk N, K attempt(s))`. */
export function failureReason(view: Pick<BatchView, 'error'>): string | undefined {
  return view.error ? describeBatchError(view.error) : undefined;
}

/**
 * 0 when the batch completed with at least one prediction (or had no records at all);
 * 1 when it failed, was cancelled, or completed with every record failed.
 */
export function batchExitCode(view: Pick<BatchView, 'status' | 'records'>): ExitCode {
  if (view.status === 'failed' || view.status === 'cancelled') return EXIT.batchFailed;
  if (view.status === 'completed' && view.records.succeeded === 0 && view.records.failed > 0) return EXIT.batchFailed;
  return EXIT.ok;
}

/** A local folder as a path, object storage as its URL. */
export const outputLocation = (url: string): string => (url.startsWith('file:') ? fileURLToPath(url) : url);

/** Seconds from creation to completion, or to now while it runs. */
export function wallSeconds(view: Pick<BatchView, 'createdAt' | 'completedAt'>, now = Date.now()): number {
  const end = view.completedAt ? Date.parse(view.completedAt) : now;
  return Math.max(0, (end - Date.parse(view.createdAt)) / 1000);
}

export interface ReportExtras {
  /** Measured by the caller (e.g. `run`'s own clock); defaults to created → completed. */
  wallSeconds?: number;
  avgPrediction?: number | null;
  /** Said next to the CPU figures: local consumers run without the CPU limit. */
  cpuNote?: string;
}

export function describeBatch(view: BatchView, extras: ReportExtras = {}): string[] {
  const { records, chunks, cost } = view;
  const seconds = extras.wallSeconds ?? wallSeconds(view);
  const done = records.succeeded + records.failed;
  const lines = [`batch ${view.id}: ${view.status}`];
  if (view.status === 'completed' && records.total === 0) {
    lines.push('  records: none — the dataset was empty (no records to predict)');
  } else {
    const allFailed = records.succeeded === 0 && records.failed > 0 ? ' — every record failed, see the errors-*.jsonl files' : '';
    lines.push(
      `  records: ${formatCount(records.succeeded)} predicted, ${formatCount(records.failed)} errors (of ${records.total === null ? `${formatCount(records.read)}+ read so far` : formatCount(records.total)})${allFailed}`,
    );
  }
  lines.push(`  chunks:  ${formatCount(chunks.completed)} completed, ${formatCount(chunks.failed)} failed (of ${chunks.total ?? '?'})`);
  // Which failure each failed chunk met, by code: what to fix before `batchinfer retry`.
  const failures = Object.entries(view.failures ?? {}).filter(([, n]) => n > 0);
  if (failures.length > 0) lines.push(`  failed:  ${failures.map(([code, n]) => `${formatCount(n)} ${code}`).join(', ')}`);
  if (extras.avgPrediction !== undefined && extras.avgPrediction !== null)
    lines.push(`  avg prediction: ${Number(extras.avgPrediction.toPrecision(6))}`);
  const perRecord = done > 0 ? cost.usd / done : 0;
  lines.push(`  cost:    ${formatUsd(cost.usd)}${done > 0 ? ` (${formatUsdPerMillion(perRecord)})` : ''}`);
  if (cost.allocatedCpuSeconds > 0) {
    const eff = cost.efficiency === null ? '' : `, efficiency ${cost.efficiency.toFixed(2)}`;
    lines.push(`  cpu:     ${cost.cpuSeconds.toFixed(2)} s used of ${cost.allocatedCpuSeconds.toFixed(2)} s allocated${eff}`);
    // An efficiency above 1 is explained wherever it shows (`status` of a batch whose consumers ran
    // without the CPU limit its cost is priced at), not only where the caller knows why (`run`).
    const note = extras.cpuNote ?? (cost.efficiency !== null && cost.efficiency > 1 ? OVER_LIMIT_NOTE : undefined);
    if (note) lines.push(`           ${note}`);
  }
  const rate = done > 0 ? ` (${formatRate(done, seconds)})` : '';
  lines.push(
    `  time:    ${formatDuration(seconds)}${rate}, started ${formatTime(view.createdAt)}${view.completedAt ? `, ended ${formatTime(view.completedAt)}` : ''}`,
  );
  lines.push(`  output:  ${outputLocation(view.output.url)}`);
  const reason = failureReason(view);
  if (reason) lines.push(`  error:   ${reason}`);
  return lines;
}
