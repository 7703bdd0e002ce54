/**
 * Scheduled runs: when each schedule last started a batch, and how long a gap is allowed
 * before the "scheduled run missed" alert fires (`SCHEDULE_MAX_INTERVAL_SECONDS`).
 */

export interface ScheduleSettings {
  defaultSeconds: number;
  bySchedule: Readonly<Record<string, number>>;
}

export interface ScheduleState {
  schedule: string;
  /** Epoch seconds of the last batch it started. */
  lastStartSeconds: number;
  maxIntervalSeconds: number;
}

export function scheduleStates(starts: Readonly<Record<string, number>>, settings: ScheduleSettings): ScheduleState[] {
  return Object.entries(starts)
    .map(([schedule, ms]) => ({
      schedule,
      lastStartSeconds: ms / 1000,
      maxIntervalSeconds: settings.bySchedule[schedule] ?? settings.defaultSeconds,
    }))
    .sort((a, b) => a.schedule.localeCompare(b.schedule));
}
