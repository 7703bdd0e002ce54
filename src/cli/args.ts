/** Checks of flag values shared by the sub-commands; a bad one is a {@link UsageError} (exit 2). */

/** The user typed something the command cannot take: exit 2, one line, no stack trace. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} expects a positive whole number, got '${value}'`);
  return Number(value);
}
