/**
 * Numbers for people: dollars with the precision that matters, durations in s / min / h,
 * times in ISO 8601 with their zone. `--json` keeps the raw numbers.
 */

/** `$0.0123`, `$12.35`, `$0.00000567` — at least 3 significant digits below a cent, never exponents. */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return 'n/a';
  if (usd === 0) return '$0';
  const abs = Math.abs(usd);
  if (abs >= 1) return `$${usd.toFixed(2)}`;
  // Enough decimals for three significant digits, e.g. 5.671e-8 -> $0.0000000567.
  const decimals = Math.min(12, Math.max(2, 2 - Math.floor(Math.log10(abs))));
  const [whole, fraction = ''] = usd.toFixed(decimals).split('.');
  // Trailing zeros say nothing, but cents keep two digits: $0.50, $0.0123.
  return `$${whole}.${fraction.replace(/0+$/, '').padEnd(2, '0')}`;
}

/** Cost per million records: the figure people compare runs by. */
export function formatUsdPerMillion(usdPerRecord: number): string {
  return `${formatUsd(usdPerRecord * 1_000_000)} per 1M records`;
}

/** `0.42 s`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'n/a';
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * ISO 8601 in the machine's local zone with its offset (`2026-12-02T13:04:05+01:00`), or
 * `Z` when the zone is UTC: unambiguous, and still local to the person reading it.
 */
export function formatTime(value: string | number | Date): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 19);
  if (offsetMinutes === 0) return `${local}Z`;
  const sign = offsetMinutes > 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** `12,345` */
export const formatCount = (n: number): string => n.toLocaleString('en-US');

/** `1,234 records/s` from a count and seconds; `n/a` when no time has passed. */
export function formatRate(count: number, seconds: number): string {
  return seconds > 0 ? `${formatCount(Math.round(count / seconds))} records/s` : 'n/a';
}
