/**
 * `{{placeholder}}` expansion for scheduled batches: a PingSource (or a CronJob running
 * `batchinfer submit`) sends the same text every time, and the date in it comes from when
 * the run was scheduled, e.g. `https://data/events/{{yesterday}}.jsonl` scored every night.
 *
 * Placeholders (all UTC, from the scheduled minute):
 * - `{{date}}`: `YYYY-MM-DD`; `{{yesterday}}`: the day before, `YYYY-MM-DD`
 * - `{{year}}` `YYYY`, `{{month}}` `MM`, `{{day}}` `DD`, `{{hour}}` `HH`, `{{minute}}` `mm`
 * - `{{datetime}}`: `YYYY-MM-DDTHH:mmZ`; `{{timestamp}}`: Unix seconds
 */
import { TemplateError } from './errors.js';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const isoDate = (d: Date): string => `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;

const PLACEHOLDERS: Record<string, (at: Date) => string> = {
  date: isoDate,
  yesterday: (at) => isoDate(new Date(at.getTime() - 24 * 3600 * 1000)),
  year: (at) => pad(at.getUTCFullYear(), 4),
  month: (at) => pad(at.getUTCMonth() + 1),
  day: (at) => pad(at.getUTCDate()),
  hour: (at) => pad(at.getUTCHours()),
  minute: (at) => pad(at.getUTCMinutes()),
  datetime: (at) => `${isoDate(at)}T${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}Z`,
  timestamp: (at) => String(Math.floor(at.getTime() / 1000)),
};

export const TIME_PLACEHOLDERS: readonly string[] = Object.keys(PLACEHOLDERS);

/** The start of the minute `at` falls in: a tick delivered at 02:00:00.4 was scheduled for 02:00. */
export function scheduledMinute(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 60_000) * 60_000);
}

/** Replaces every `{{name}}` with its value at `at`; an unknown name throws {@link TemplateError}. */
export function expandTimePlaceholders(text: string, at: Date): string {
  return text.replace(/\{\{\s*([\w-]*)\s*\}\}/g, (_match, name: string) => {
    const value = Object.hasOwn(PLACEHOLDERS, name) ? PLACEHOLDERS[name] : undefined;
    if (!value) throw new TemplateError(`unknown placeholder {{${name}}} (known: ${TIME_PLACEHOLDERS.join(', ')})`);
    return value(at);
  });
}
