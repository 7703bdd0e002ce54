/** Collects a process's pino output and parses it line by line as JSON. */
export interface LogLine {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

export class LogSink {
  private buffer = '';
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];

  write = (text: string | Buffer): void => {
    this.buffer += text.toString();
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim() === '') continue;
      this.raw.push(line);
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        /* not JSON: kept in raw only */
      }
    }
  };

  find(predicate: (line: LogLine) => boolean): LogLine | undefined {
    return this.lines.find(predicate);
  }

  text(): string {
    return this.raw.join('\n');
  }
}
