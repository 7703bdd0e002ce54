/**
 * The CLI's exit codes, one meaning each (docs/cli.md has the table). Scripts and CronJobs
 * branch on them: 1 means "look at the batch", 2 "fix the command or its input",
 * 3 "the infrastructure is not there", 130 "someone stopped it".
 */
export const EXIT = {
  /** The batch completed (some record errors allowed), or the command did what it was asked. */
  ok: 0,
  /** The batch failed, or completed with every record failed, or was cancelled. */
  batchFailed: 1,
  /** Usage, configuration or input error: bad flag, missing dataset, unwritable output, refused URL. */
  usage: 2,
  /** Redis or the producer cannot be reached. */
  unreachable: 3,
  /** Interrupted (SIGINT/SIGTERM): 128 + SIGINT, as shells report it. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
