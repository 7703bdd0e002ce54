/**
 * Progress of a batch on a terminal: one line redrawn in place on stderr. Off when stderr
 * is not a TTY (logs and CI output stay clean).
 */
import type { BatchView } from '../shared/types.js';
import { formatCount } from './human-format.js';

const WIDTH = 30;

/** Records per second since the batch was created (not since this process started watching). */
function rate(view: BatchView, done: number, now: number): string {
  const seconds = (now - Date.parse(view.createdAt)) / 1000;
  return seconds > 0 ? `${formatCount(Math.round(done / seconds))}/s` : '…';
}

export function progressLine(view: BatchView, now = Date.now()): string {
  const done = view.records.succeeded + view.records.failed;
  const total = view.records.total;
  if (total === null) {
    return `${view.status}: ${formatCount(done)} of ${formatCount(view.records.read)}+ records (${rate(view, done, now)})`;
  }
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * WIDTH);
  const bar = '#'.repeat(filled) + '-'.repeat(WIDTH - filled);
  const errors = view.records.failed > 0 ? `, ${formatCount(view.records.failed)} errors` : '';
  return `[${bar}] ${(fraction * 100).toFixed(1)}% ${formatCount(done)}/${formatCount(total)} records${errors} (${rate(view, done, now)})`;
}

export class ProgressReporter {
  private drawn = false;
  readonly enabled: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    wanted: boolean,
  ) {
    this.enabled = wanted && stream.isTTY === true;
  }

  line(view: BatchView): string {
    return progressLine(view);
  }

  update(view: BatchView): void {
    if (!this.enabled) return;
    this.stream.write(`\r\x1b[2K${progressLine(view)}`);
    this.drawn = true;
  }

  /** Writes a log line without breaking the bar. */
  log(text: string): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  finish(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
