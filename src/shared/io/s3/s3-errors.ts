/**
 * What a failed S3 request means, from the SDK's error (its `name`, the S3 error code, and
 * the HTTP status in `$metadata`), without importing the SDK. The messages built from it
 * name the bucket and key only: S3 errors never carry the secret key, and neither do ours.
 */

/** What users can act on: the same few answers whatever store or SDK version. */
export type S3Failure =
  /** No such bucket. */
  | 'no-bucket'
  /** No such key (or a HEAD's bare 404, bucket unknown). */
  | 'not-found'
  /** Access denied, unknown key id, bad signature, or no credentials found at all. */
  | 'forbidden'
  /** `If-Match` failed: the object is not the version asked for. */
  | 'precondition'
  /** The byte range is past the end of the object. */
  | 'invalid-range'
  /** Aborted by our own signal. */
  | 'aborted'
  /** The store answered an error that is none of the above (after the SDK's retries). */
  | 'store-error'
  /** No answer: connection refused, reset, DNS, timeout (after the SDK's retries). */
  | 'unreachable';

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const FORBIDDEN_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'Forbidden',
  'InvalidToken',
  'ExpiredToken',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
]);

export function classifyS3Error(err: unknown): S3Failure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkError;
  const name = e.Code ?? e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (name === 'AbortError') return 'aborted';
  if (name === 'NoSuchBucket') return 'no-bucket';
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return 'not-found';
  if (FORBIDDEN_NAMES.has(name) || status === 403 || status === 401) return 'forbidden';
  if (name === 'PreconditionFailed' || status === 412) return 'precondition';
  if (name === 'InvalidRange' || status === 416) return 'invalid-range';
  return status === undefined ? 'unreachable' : 'store-error';
}

/** A short reason for a message: the S3 error code and status, or the network error's message. */
export function s3Reason(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.Code ?? e.name ?? 'Error';
  if (name === 'CredentialsProviderError') return 'no AWS credentials were found (see docs/storage.md)';
  if (status === undefined) return `${name}: ${e.message ?? String(err)}`;
  // A HEAD's error has no body, so no S3 error code: the status alone says it.
  return name === 'Unknown' || name === 'Error' ? `HTTP ${status}` : `${name} (HTTP ${status})`;
}
