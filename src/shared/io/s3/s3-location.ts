/**
 * `s3://bucket/key` URLs, parsed without the AWS SDK (which is loaded only when a store is
 * actually read or written). A key is the path after the bucket, percent-decoded; the store
 * takes it literally, so `.` and `..` segments are refused rather than given a meaning S3
 * does not give them.
 */
import { hasControlCharacter } from '../../control-chars.js';

export interface S3Location {
  bucket: string;
  /** The object key or prefix, without a leading `/`; `''` is the whole bucket. */
  key: string;
}

/** S3's bucket naming rules (3-63 lower-case letters, digits, dots, hyphens; no IP-like names). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Why `url` is not a usable `s3://` location, or undefined when it is one. */
export function s3UrlProblem(url: URL): string | undefined {
  if (url.protocol !== 's3:') return `not an s3:// URL`;
  if (url.username || url.password) return 'credentials do not go in the URL: the AWS SDK takes them from its credential chain';
  if (url.port) return 'an s3:// URL names a bucket, not a host and port (the endpoint is AWS_ENDPOINT_URL_S3)';
  if (url.search || url.hash) return 'an s3:// URL has no query or fragment';
  if (!BUCKET.test(url.hostname) || url.hostname.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(url.hostname)) {
    return `'${url.hostname}' is not a bucket name (3-63 lower-case letters, digits, dots and hyphens)`;
  }
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    return 'the key is not valid percent-encoding';
  }
  if (hasControlCharacter(key)) return 'the key contains a control character';
  if (key.split('/').some((segment, i, all) => segment === '.' || segment === '..' || (segment === '' && i < all.length - 1))) {
    return 'the key has an empty, `.` or `..` segment';
  }
  return undefined;
}

/** The bucket and key of an `s3://` URL; throws what `invalid` makes of the problem. */
export function parseS3Url(url: URL, invalid: (problem: string) => Error): S3Location {
  const problem = s3UrlProblem(url);
  if (problem) throw invalid(problem);
  return { bucket: url.hostname, key: decodeURIComponent(url.pathname.replace(/^\//, '')) };
}

/** A key as URL path text: percent-encoded where a URL needs it, `/` and `=` kept readable. */
const encodeKey = (key: string): string => encodeURI(key).replace(/[?#]/g, (c) => encodeURIComponent(c));

/** The URL of a location. */
export function s3Url(location: S3Location): string {
  return `s3://${location.bucket}/${encodeKey(location.key)}`;
}

/** The key of `name` inside the folder `prefix` (a key without a trailing `/`; `''` is the bucket). */
export const keyBelow = (prefix: string, name: string): string => (prefix === '' ? name : `${prefix}/${name}`);

/** What `s3://…/<folder>` is in a listing: the key prefix, ending in `/` (`''` for the bucket). */
export const folderPrefix = (key: string): string => (key === '' || key.endsWith('/') ? key : `${key}/`);

/** A location's name in messages: bucket and key, which are not secret. */
export const describeS3 = (location: S3Location): string => `s3://${location.bucket}/${location.key}`;
