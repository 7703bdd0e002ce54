/**
 * `batchinfer status <id> [--watch]`, `cancel <id>` and `retry <id>`: a batch as the
 * producer's API sees it. `status` prints state, counts, cost, wall time, output folder and
 * failure reason, and exits by the batch's state (0 completed, 1 failed / cancelled / every
 * record failed); `--watch` redraws progress until the batch ends, then prints the summary.
 */
import { TERMINAL_STATUSES } from '../shared/types.js';
import type { BatchView } from '../shared/types.js';
import { batchExitCode, describeBatch } from './batch-report.js';
import { booleanFlag, onePositional, stringFlag } from './command-spec.js';
import type { ParsedCommand } from './command-spec.js';
import { CANCEL_SPEC, RETRY_SPEC, STATUS_SPEC } from './command-specs.js';
import { EXIT } from './exit-codes.js';
import { sleep, watchInterrupts } from './interrupts.js';
import { producerClient } from './producer-client.js';
import { ProgressReporter } from './progress.js';

const WATCH_POLL_MS = 1000;
const batchPath = (id: string): string => `/v1/batches/${encodeURIComponent(id)}`;

export async function statusCommand(parsed: ParsedCommand): Promise<number> {
  const id = onePositional(STATUS_SPEC, parsed);
  const json = booleanFlag(parsed, 'json');
  const client = producerClient(stringFlag(parsed, 'server'));
  if (!booleanFlag(parsed, 'watch')) {
    const view = (await client.call('GET', batchPath(id))) as BatchView;
    process.stdout.write(json ? `${JSON.stringify(view)}\n` : `${describeBatch(view).join('\n')}\n`);
    return batchExitCode(view);
  }
  const interrupts = watchInterrupts();
  // On a terminal the progress line is redrawn in place; elsewhere one line per change.
  const progress = new ProgressReporter(process.stderr, true);
  let last = '';
  try {
    for (;;) {
      const view = (await Promise.race([client.call('GET', batchPath(id)), interrupts.rejected])) as BatchView;
      if (TERMINAL_STATUSES.includes(view.status)) {
        progress.finish();
        process.stdout.write(json ? `${JSON.stringify(view)}\n` : `${describeBatch(view).join('\n')}\n`);
        return batchExitCode(view);
      }
      if (progress.enabled) progress.update(view);
      else if (!json) {
        const line = progress.line(view);
        if (line !== last) process.stderr.write(`${id} ${line}\n`);
        last = line;
      }
      await sleep(WATCH_POLL_MS, interrupts);
    }
  } finally {
    progress.finish();
    interrupts.dispose();
  }
}

export async function cancelCommand(parsed: ParsedCommand): Promise<number> {
  const id = onePositional(CANCEL_SPEC, parsed);
  const answer = (await producerClient(stringFlag(parsed, 'server')).call('DELETE', batchPath(id))) as { removedChunks?: number };
  process.stdout.write(
    booleanFlag(parsed, 'json')
      ? `${JSON.stringify(answer)}\n`
      : `batch ${id}: cancelled (${answer.removedChunks ?? 0} queued chunk(s) removed)\n`,
  );
  return EXIT.ok;
}

export async function retryCommand(parsed: ParsedCommand): Promise<number> {
  const id = onePositional(RETRY_SPEC, parsed);
  const answer = (await producerClient(stringFlag(parsed, 'server')).call('POST', `${batchPath(id)}/retry`)) as {
    retried?: number[] | number;
    unavailable?: number[] | number;
  };
  const count = (v: number[] | number | undefined): number => (Array.isArray(v) ? v.length : (v ?? 0));
  const gone = count(answer.unavailable);
  process.stdout.write(
    booleanFlag(parsed, 'json')
      ? `${JSON.stringify(answer)}\n`
      : `batch ${id}: running again, ${count(answer.retried)} failed chunk(s) re-queued${gone ? `, ${gone} no longer available` : ''}; follow it with: batchinfer status ${id} --watch\n`,
  );
  return EXIT.ok;
}
