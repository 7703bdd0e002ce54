/**
 * Object storage (`s3://` datasets, models and outputs). The AWS SDK reads its own variables
 * (credentials, region, endpoint), as it does for every AWS tool, so users change nothing they
 * know; they are listed here for the reference, never read here. Only path-style addressing,
 * which S3-compatible stores often need and the SDK has no variable for, is ours.
 */
import { flag, readByLibrary, section } from './variable.js';

/** Every command that can read or write `s3://` locations. */
const S3_USERS = ['producer', 'consumer', 'run'] as const;
const BY_SDK = 'Read by the AWS SDK itself';

export const STORAGE_VARIABLES = {
  s3ForcePathStyle: flag('S3_FORCE_PATH_STYLE', {
    services: S3_USERS,
    default: false,
    doc: 'Address buckets as `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>`: MinIO, Ceph and most S3-compatible stores need it.',
  }),
} as const;

/** The AWS SDK's own variables, documented here; the SDK reads them (default credential chain). */
export const AWS_SDK_VARIABLES = {
  region: readByLibrary('AWS_REGION', {
    services: S3_USERS,
    shownDefault: "the profile's region",
    doc: `Region of the buckets (any value for most S3-compatible stores). ${BY_SDK}.`,
  }),
  endpointS3: readByLibrary('AWS_ENDPOINT_URL_S3', {
    services: S3_USERS,
    accepts: 'a URL',
    shownDefault: '`AWS_ENDPOINT_URL`',
    doc: `Endpoint of an S3-compatible store (MinIO, Ceph, R2, ...) instead of AWS S3. ${BY_SDK}.`,
  }),
  endpoint: readByLibrary('AWS_ENDPOINT_URL', {
    services: S3_USERS,
    accepts: 'a URL',
    shownDefault: "AWS's endpoint for the region",
    doc: `Endpoint for every AWS service; \`AWS_ENDPOINT_URL_S3\` wins for S3. ${BY_SDK}.`,
  }),
  accessKeyId: readByLibrary('AWS_ACCESS_KEY_ID', {
    services: S3_USERS,
    shownDefault: 'the next source in the chain',
    doc: `Static credentials (with \`AWS_SECRET_ACCESS_KEY\`, and \`AWS_SESSION_TOKEN\` for temporary ones): the first source of the default credential chain. ${BY_SDK}.`,
  }),
  secretAccessKey: readByLibrary('AWS_SECRET_ACCESS_KEY', {
    services: S3_USERS,
    shownDefault: 'unset',
    doc: `The secret of \`AWS_ACCESS_KEY_ID\`; never logged. ${BY_SDK}.`,
  }),
  sessionToken: readByLibrary('AWS_SESSION_TOKEN', {
    services: S3_USERS,
    shownDefault: 'unset',
    doc: `Session token of temporary credentials. ${BY_SDK}.`,
  }),
  profile: readByLibrary('AWS_PROFILE', {
    services: S3_USERS,
    shownDefault: '`default`',
    doc: `Profile of \`~/.aws/config\` and \`~/.aws/credentials\` to use. ${BY_SDK}.`,
  }),
  roleArn: readByLibrary('AWS_ROLE_ARN', {
    services: S3_USERS,
    shownDefault: 'unset',
    doc: `With \`AWS_WEB_IDENTITY_TOKEN_FILE\`: the role assumed by web identity (EKS IRSA sets both). ${BY_SDK}.`,
  }),
  webIdentityTokenFile: readByLibrary('AWS_WEB_IDENTITY_TOKEN_FILE', {
    services: S3_USERS,
    shownDefault: 'unset',
    doc: `The projected service-account token for \`AWS_ROLE_ARN\`. ${BY_SDK}.`,
  }),
  maxAttempts: readByLibrary('AWS_MAX_ATTEMPTS', {
    services: S3_USERS,
    accepts: 'a whole number >= 1',
    shownDefault: '`3`',
    doc: `Tries of one S3 request (throttling, 5xx, network errors) in the SDK's adaptive retry mode. ${BY_SDK}.`,
  }),
} as const;

export const STORAGE_SECTION = section(
  'Object storage',
  "How `s3://` datasets, models and outputs are reached. Credentials come from the AWS SDK's default chain: environment keys, " +
    'profiles, web identity (EKS IRSA), EKS Pod Identity, container and instance metadata; see [docs/storage.md](storage.md). ' +
    "Throttling (`503 SlowDown`) and server errors are retried by the SDK's adaptive retry mode.",
  STORAGE_VARIABLES,
  AWS_SDK_VARIABLES,
);
