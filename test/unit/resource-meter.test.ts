import { describe, expect, it } from 'vitest';
import { ResourceMeter } from '../../src/consumer/resource-meter.js';

/** Clocks the test moves by hand: CPU in microseconds, wall in milliseconds. */
function manualClocks(): { cpu: number; wall: number; cpuMicros(): number; nowMs(): number } {
  return {
    cpu: 0,
    wall: 0,
    cpuMicros() {
      return this.cpu;
    },
    nowMs() {
      return this.wall;
    },
  };
}

describe('ResourceMeter', () => {
  it('gives a lone attempt all the CPU used while it ran, and its wall time', () => {
    const clocks = manualClocks();
    const meter = new ResourceMeter(clocks);
    clocks.cpu = 5_000_000; // before the attempt: not its CPU
    const a = meter.start();
    clocks.cpu += 2_000_000;
    clocks.wall += 4000;
    expect(a.stop()).toEqual({ wallSeconds: 4, cpuSeconds: 2 });
  });

  it('splits CPU evenly between overlapping attempts, never counting it twice', () => {
    const clocks = manualClocks();
    const meter = new ResourceMeter(clocks);
    const a = meter.start();
    clocks.cpu += 1_000_000; // a alone: 1 s
    const b = meter.start();
    clocks.cpu += 2_000_000; // a and b: 1 s each
    const ua = a.stop();
    clocks.cpu += 500_000; // b alone: 0.5 s
    const ub = b.stop();
    expect(ua.cpuSeconds).toBeCloseTo(2, 9);
    expect(ub.cpuSeconds).toBeCloseTo(1.5, 9);
    expect(ua.cpuSeconds + ub.cpuSeconds).toBeCloseTo(3.5, 9);
    expect(meter.active).toBe(0);
  });

  it('keeps the first result when stopped twice', () => {
    const clocks = manualClocks();
    const meter = new ResourceMeter(clocks);
    const a = meter.start();
    clocks.cpu += 1_000_000;
    const first = a.stop();
    clocks.cpu += 1_000_000;
    expect(a.stop()).toBe(first);
  });
});
