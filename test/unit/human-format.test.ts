import { describe, expect, it } from 'vitest';
import { formatDuration, formatTime, formatUsd, formatUsdPerMillion } from '../../src/cli/human-format.js';

describe('numbers for people', () => {
  it('dollars: three significant digits below a dollar, cents above, never an exponent', () => {
    expect(formatUsd(5.671e-8)).toBe('$0.0000000567');
    expect(formatUsd(0.012345)).toBe('$0.0123');
    expect(formatUsd(0.5)).toBe('$0.50');
    expect(formatUsd(12.345)).toBe('$12.35');
    expect(formatUsd(0)).toBe('$0');
    for (const usd of [1e-12, 3.3e-9, 7.7e-5]) expect(formatUsd(usd)).not.toMatch(/e/);
  });

  it('per 1M records', () => {
    expect(formatUsdPerMillion(5.671e-8)).toBe('$0.0567 per 1M records');
  });

  it('durations in s, then min, then h', () => {
    expect(formatDuration(0.4213)).toBe('0.42 s');
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(245)).toBe('4 min 05 s');
    expect(formatDuration(7380)).toBe('2 h 03 min');
  });

  it('times in ISO 8601 with their zone', () => {
    const text = formatTime('2026-12-02T13:04:05.678Z');
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    // The same instant, whatever the zone it is shown in.
    expect(Date.parse(text)).toBe(Date.parse('2026-12-02T13:04:05Z'));
  });
});
