/**
 * Measures what one chunk attempt used: wall time and CPU time.
 *
 * CPU is read with `process.cpuUsage()`, which counts the whole process: the main thread,
 * the libuv pool writing parts, GC threads, and a native model's own threads. A per-thread
 * clock would miss the last three, and timing only the synchronous section would miss
 * model loading, file writes and async models. Instead, every time an attempt starts or
 * stops, the CPU used since the previous such moment is split evenly between the attempts
 * that were running then. So the CPU of concurrent chunks is never counted twice, and the
 * sum over attempts is what the process used while it had work, which is what the pod was
 * paid for. (The exception: CPU spent while no chunk was running goes to no chunk.)
 */
import { performance } from 'node:perf_hooks';

export interface Usage {
  wallSeconds: number;
  cpuSeconds: number;
}

/** One attempt's running tally. `stop` may be called more than once; the first one counts. */
export interface Tally {
  stop(): Usage;
}

export interface Clocks {
  /** Process CPU time (user + system), microseconds. */
  cpuMicros(): number;
  /** Monotonic wall clock, milliseconds. */
  nowMs(): number;
}

const processClocks: Clocks = {
  cpuMicros() {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
  nowMs: () => performance.now(),
};

export class ResourceMeter {
  private lastCpu: number;
  /** CPU microseconds attributed so far to each running attempt. */
  private readonly running = new Map<symbol, number>();

  constructor(private readonly clocks: Clocks = processClocks) {
    this.lastCpu = clocks.cpuMicros();
  }

  /** Attempts currently measured. */
  get active(): number {
    return this.running.size;
  }

  start(): Tally {
    this.settle();
    const id = Symbol('attempt');
    this.running.set(id, 0);
    const startedMs = this.clocks.nowMs();
    let result: Usage | undefined;
    return {
      stop: () => {
        if (!result) {
          this.settle();
          const micros = this.running.get(id) ?? 0;
          this.running.delete(id);
          result = { wallSeconds: (this.clocks.nowMs() - startedMs) / 1000, cpuSeconds: micros / 1e6 };
        }
        return result;
      },
    };
  }

  /** Shares the CPU used since the last start/stop between the attempts running through it. */
  private settle(): void {
    const cpu = this.clocks.cpuMicros();
    const delta = Math.max(0, cpu - this.lastCpu);
    this.lastCpu = cpu;
    if (this.running.size === 0) return;
    const share = delta / this.running.size;
    for (const [id, micros] of this.running) this.running.set(id, micros + share);
  }
}
