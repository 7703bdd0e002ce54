/**
 * Secrets that travel inside URLs (a dataset's `user:password@`, a presigned query string,
 * a Redis password) are cut out before a URL reaches a log line.
 */

/** The URL without its password and with its query replaced, or a placeholder if it does not parse. */
export function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return '[unparsable url]';
  }
  if (url.password) url.password = 'redacted';
  if (url.search) url.search = '?redacted';
  return url.toString();
}
