/**
 * Progress of a batch on a terminal: one line redrawn in place on stderr. Off when stderr
 * is not a TTY (logs and CI output stay clean).
 */
import type { BatchView } from '../shared/types.js';

const WIDTH = 30;

export function progressLine(view: BatchView, elapsedMs: number): string {
  const done = view.records.succeeded + view.records.failed;
  const total = view.records.total;
  const rate = elapsedMs > 0 ? Math.round((done / elapsedMs) * 1000) : 0;
  if (total === null) {
    return `${view.status}: ${done.toLocaleString('en-US')} of ${view.records.read.toLocaleString('en-US')}+ records (${rate.toLocaleString('en-US')}/s)`;
  }
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * WIDTH);
  const bar = '#'.repeat(filled) + '-'.repeat(WIDTH - filled);
  const errors = view.records.failed > 0 ? `, ${view.records.failed.toLocaleString('en-US')} errors` : '';
  return `[${bar}] ${(fraction * 100).toFixed(1)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} records${errors} (${rate.toLocaleString('en-US')}/s)`;
}

export class ProgressReporter {
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    wanted: boolean,
    private readonly enabled = wanted && stream.isTTY === true,
  ) {}

  update(view: BatchView): void {
    if (!this.enabled) return;
    this.stream.write(`\r\x1b[2K${progressLine(view, Date.now() - this.started)}`);
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
