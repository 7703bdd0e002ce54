/**
 * The SDK-free door to {@link S3Store}: the source and the sink hold a provider and call it on
 * their first request, so the AWS SDK is imported then, not when the registries load.
 */
import type { S3Store } from './s3-store.js';

export type S3StoreProvider = () => Promise<S3Store>;

/** The process's default store (credential chain, `AWS_*`, `S3_FORCE_PATH_STYLE`). */
export const loadS3Store: S3StoreProvider = async () => (await import('./s3-store.js')).defaultS3Store();
