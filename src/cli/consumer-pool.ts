/**
 * The consumer processes of `batchinfer run`: the real `batchinfer consumer`, restarted if
 * one dies while the batch runs. Each runs in its own process group (a Ctrl-C reaches only
 * `run`, which then stops them in order) with an IPC channel, so it exits when `run` dies
 * however it dies (parent-watch.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAX_CONSUMER_RESTARTS = 5;
/** How long a consumer may drain on SIGTERM before it is killed. */
const STOP_GRACE_MS = 30_000;

/** Calls `onLine` with each whole line of a stream that arrives in arbitrary pieces. */
function lineSplitter(onLine: (line: string) => void): (text: string) => void {
  let rest = '';
  return (text) => {
    rest += text;
    let nl: number;
    while ((nl = rest.indexOf('\n')) !== -1) {
      onLine(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
  };
}

export class ConsumerPool {
  private readonly children = new Set<ChildProcess>();
  private restarts = 0;
  private stopping = false;
  private started = false;

  constructor(
    private readonly count: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly onLog: (line: string) => void,
  ) {}

  /** Starts the consumers; a second call does nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.count; i++) this.spawnOne();
  }

  private spawnOne(): void {
    // The script this process was started as: the bundle in the image, dist/cli.js otherwise.
    const cli = process.argv[1] ?? fileURLToPath(new URL('../cli.js', import.meta.url));
    const child = spawn(process.execPath, [...process.execArgv, cli, 'consumer'], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    this.children.add(child);
    child.stdout?.setEncoding('utf8').on('data', lineSplitter(this.onLog));
    child.stderr?.setEncoding('utf8').on('data', lineSplitter(this.onLog));
    child.once('exit', (code, signal) => {
      this.children.delete(child);
      if (this.stopping) return;
      if (this.restarts >= MAX_CONSUMER_RESTARTS) {
        this.onLog(`consumer exited (code ${code}, signal ${signal}); restart limit reached\n`);
        return;
      }
      this.restarts++;
      this.onLog(`consumer exited (code ${code}, signal ${signal}); restarting\n`);
      this.spawnOne();
    });
  }

  get alive(): number {
    return this.children.size;
  }

  /** Last resort on a forced exit: no waiting, nothing left running. */
  killNow(): void {
    this.stopping = true;
    for (const child of this.children) child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}
